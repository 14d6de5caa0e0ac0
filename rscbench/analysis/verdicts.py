"""The theory's verdicts V1-V7 (docs/verdicts.md), judged from stored task records.

Sweeps are found from the specs themselves, not from experiment names, so any suite works: a
width sweep is a set of stored tasks that differ only in width and seed (at least 3 widths), a
depth sweep likewise in depth. Each verdict is "supported", "not supported" or "inconclusive"
(too few points, a CI too wide to decide, or nothing to judge), with the numbers behind it and
the fixed fields of the sweep it came from. Whatever the data say is what the verdict says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rscbench.analysis.bootstrap import bootstrap_ci
from rscbench.analysis.fits import ScalingFit, compare_depth_laws, fit_scaling
from rscbench.analysis.thresholds import extrapolate_threshold_width
from rscbench.models.activations import ACTIVATIONS

__all__ = [
    "INCONCLUSIVE",
    "NOT_SUPPORTED",
    "SUPPORTED",
    "Verdict",
    "judge",
    "sweeps",
    "verdict_table",
    "with_along_gd",
]

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
V1_BAND = (-0.6, -0.4)
V3_FLOOR = -0.5
V4_FRACTION = 0.95
V5_R2 = 0.9
ALONG_GD_SUFFIX = "_along_gd"


@dataclass(frozen=True)
class Verdict:
    """One judged claim: ``id`` (V1..V7), ``subject`` (e.g. the activation), ``status`` and evidence.

    ``fits`` lists every scaling law the verdict rests on (see :func:`fit_record`), so a report can
    tabulate and compare fits without knowing which verdict holds which numbers.
    """

    id: str
    claim: str
    subject: str
    status: str
    numbers: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    fits: list[dict[str, Any]] = field(default_factory=list)


def fit_record(fit: ScalingFit, metric: str, axis: str) -> dict[str, Any]:
    """A fitted law as a flat dict: metric and axis (spec field) it relates, law, exponent, CI, R^2, counts.

    The exponent is dimensionless for a power law in width or depth, per layer for an exponential law.
    """
    return {"metric": metric, "axis": axis, "law": fit.law} | _fit_numbers(fit)


def sweeps(
    frame: pd.DataFrame, axis: str, metric: str, min_values: int = 3
) -> list[tuple[dict, pd.DataFrame]]:
    """Groups of ok tasks that differ only in ``axis`` (a spec column) and the seed, with ``metric``.

    Returns (fixed fields, rows) per group having at least ``min_values`` distinct axis values.
    """
    column = f"metric.{metric}"
    if column not in frame or axis not in frame:  # records without the axis (a monitored run) form no sweep
        return []
    rows = frame[(frame["status"] == "ok") & frame[column].notna()]
    spec_columns = [c for c in rows.columns if c.startswith("spec.") and c not in (axis, "spec.seed")]
    found = []
    if rows.empty:
        return found
    keys = rows[spec_columns].astype(str)
    for _, group in rows.groupby([keys[c] for c in spec_columns], sort=True, dropna=False):
        if group[axis].nunique() >= min_values:
            fixed = {c.removeprefix("spec."): group[c].iloc[0] for c in spec_columns}
            found.append((fixed, group))
    return found


def _fit_numbers(fit) -> dict[str, Any]:
    return {
        "exponent": fit.exponent,
        "ci_low": fit.ci_low,
        "ci_high": fit.ci_high,
        "r2": fit.r2,
        "n_points": fit.n_points,
        "n_x": fit.n_x,
        "n_seeds": fit.n_groups,
        "conclusive": fit.conclusive,
        "reason": fit.reason,
    }


def _source(fixed: dict[str, Any], rows: pd.DataFrame) -> dict[str, Any]:
    keep = (
        "model.activation",
        "model.depth",
        "model.width",
        "model.sigma1",
        "loss",
        "data.dataset",
        "data.n",
    )
    return {key: _plain(fixed[key]) for key in keep if key in fixed} | {"tasks": len(rows)}


def _median(rows: pd.DataFrame, metric: str) -> float:
    """Median of a metric over rows (NaN when it was not measured)."""
    column = f"metric.{metric}"
    return float(rows[column].astype(float).median()) if column in rows else math.nan


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _smooth(activation: str) -> bool:
    return ACTIVATIONS[activation].covered_by_theory


def _at_init(fixed: dict[str, Any]) -> bool:
    return fixed.get("protocol.gd_steps", 0) in (0, "0")


def with_along_gd(frame: pd.DataFrame, trajectories: pd.DataFrame | None, metric: str) -> pd.DataFrame:
    """``frame`` plus a column ``metric.<metric>_along_gd``: the largest value of ``metric`` over each
    task's GD checkpoints (t = 0 included, so it is the supremum along the path the theory bounds).

    Tasks without GD checkpoints get NaN. ``trajectories`` is ResultStore.trajectory_frame().
    """
    column = f"metric.{metric}{ALONG_GD_SUFFIX}"
    frame = frame.copy()
    if trajectories is None or trajectories.empty or metric not in trajectories:
        frame[column] = np.nan
        return frame
    largest = trajectories.groupby("task_id")[metric].max()
    frame[column] = frame["task_id"].map(largest).astype(float)
    return frame


def _v1(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    verdicts = []
    for metric, along in (
        ("predictor_hessian_max", False),
        ("predictor_hessian_max" + ALONG_GD_SUFFIX, True),
    ):
        column = f"metric.{metric}"
        for fixed, rows in sweeps(frame, "spec.model.width", metric):
            if _at_init(fixed) == along:
                continue
            activation = fixed["model.activation"]
            fit = fit_scaling(rows["spec.model.width"], rows[column], rows["spec.seed"], seed=seed)
            # At init the band's lower end guards the kernel (a slope far below -1/2 means a broken
            # measurement); along GD the init value has already checked the kernel, and the theorem's
            # O(1/sqrt(m)) is an upper bound on a ball that small widths leave further behind, so
            # only the upper end is the claim there.
            low_end = -math.inf if along else V1_BAND[0]
            in_band = low_end <= fit.ci_low and fit.ci_high <= V1_BAND[1]
            status = INCONCLUSIVE if not fit.conclusive else SUPPORTED if in_band else NOT_SUPPORTED
            widest = rows[rows["spec.model.width"] == rows["spec.model.width"].max()]
            c_h = float((np.sqrt(widest["spec.model.width"]) * widest[column]).median())
            claim = (
                "max over GD checkpoints of max-probe ||Hessian of f|| ~ m^b with the 95% CI of b <= -0.4"
                if along
                else "max-probe ||Hessian of f|| ~ m^b with the 95% CI of b inside [-0.6, -0.4]"
            )
            identifier = "V1" if _smooth(activation) else "V6"
            subject = f"{activation} along GD" if along else activation
            numbers = _fit_numbers(fit) | {"c_H_at_largest_width": c_h}
            verdicts.append(
                Verdict(
                    identifier,
                    claim,
                    subject,
                    status,
                    numbers,
                    _source(fixed, rows),
                    [fit_record(fit, metric, "model.width")],
                )
            )
    return verdicts


def _v2(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    verdicts = []
    for fixed, rows in sweeps(frame, "spec.model.depth", "predictor_hessian_max", min_values=4):
        choice = compare_depth_laws(
            rows["spec.model.depth"], rows["metric.predictor_hessian_max"], rows["spec.seed"], seed=seed
        )
        sigma1 = float(fixed["model.sigma1"])
        exponential = choice.exponential
        growing = exponential.conclusive and exponential.ci_low > 0
        if choice.preferred == INCONCLUSIVE:
            status = INCONCLUSIVE
        elif sigma1 < 1:
            status = NOT_SUPPORTED if choice.preferred == "exponential" and growing else SUPPORTED
        else:
            status = SUPPORTED if choice.preferred == "exponential" and growing else NOT_SUPPORTED
        claim = (
            "growth in depth is polynomial, not exponential, for sigma1 < 1"
            if sigma1 < 1
            else "growth in depth is exponential for sigma1 > 1 (the bound's regime)"
        )
        numbers = {
            "preferred": choice.preferred,
            "aic_delta_power_minus_exponential": choice.delta,
            "per_layer_factor": choice.per_layer_factor,
            "power_exponent": choice.power.exponent,
            "exponential_rate": exponential.exponent,
            "exponential_rate_ci": [exponential.ci_low, exponential.ci_high],
        }
        identifier = "V2" if sigma1 < 1 else "V6"
        fits = [
            fit_record(choice.power, "predictor_hessian_max", "model.depth"),
            fit_record(exponential, "predictor_hessian_max", "model.depth"),
        ]
        verdicts.append(
            Verdict(identifier, claim, f"sigma1={sigma1:g}", status, numbers, _source(fixed, rows), fits)
        )
    return verdicts


def _v3(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    return _v3_width(frame, seed) + _v3_depth(frame, seed) + _v3_threshold_width(frame, seed)


def _v3_width(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    verdicts = []
    for fixed, rows in sweeps(frame, "spec.model.width", "g_bar_sqnorm"):
        if not _at_init(fixed):
            continue
        fit = fit_scaling(rows["spec.model.width"], rows["metric.g_bar_sqnorm"], rows["spec.seed"], seed=seed)
        status = INCONCLUSIVE if not fit.conclusive else SUPPORTED if fit.ci_low > V3_FLOOR else NOT_SUPPORTED
        claim = "||g_bar||^2 ~ m^b with the CI's lower end > -1/2 (the RSC condition holds at large m)"
        activation = fixed["model.activation"]
        identifier = "V3" if _smooth(activation) else "V6"
        fits = [fit_record(fit, "g_bar_sqnorm", "model.width")]
        verdicts.append(
            Verdict(identifier, claim, activation, status, _fit_numbers(fit), _source(fixed, rows), fits)
        )
    return verdicts


def _v3_depth(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """The per-layer factor of ||g_bar(theta_0)||^2 in depth: the constant the width exponent hides."""
    verdicts = []
    for fixed, rows in sweeps(frame, "spec.model.depth", "g_bar_sqnorm", min_values=4):
        if not _at_init(fixed):
            continue
        choice = compare_depth_laws(
            rows["spec.model.depth"], rows["metric.g_bar_sqnorm"], rows["spec.seed"], seed=seed
        )
        exponential = choice.exponential
        vanishing = exponential.conclusive and exponential.ci_high < 0
        if choice.preferred == INCONCLUSIVE:
            status = INCONCLUSIVE
        else:
            status = NOT_SUPPORTED if choice.preferred == "exponential" and vanishing else SUPPORTED
        sigma1 = float(fixed["model.sigma1"])
        numbers = {
            "preferred": choice.preferred,
            "aic_delta_power_minus_exponential": choice.delta,
            "per_layer_factor": choice.per_layer_factor,
            "per_layer_factor_ci": [math.exp(exponential.ci_low), math.exp(exponential.ci_high)],
            "power_exponent": choice.power.exponent,
        }
        fits = [
            fit_record(choice.power, "g_bar_sqnorm", "model.depth"),
            fit_record(exponential, "g_bar_sqnorm", "model.depth"),
        ]
        verdicts.append(
            Verdict(
                "V3" if sigma1 < 1 else "V6",
                "||g_bar||^2 does not vanish exponentially in depth (per-layer factor of the preferred law)",
                f"{fixed['model.activation']} sigma1={sigma1:g} vs depth",
                status,
                numbers,
                _source(fixed, rows),
                fits,
            )
        )
    return verdicts


def _v3_threshold_width(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """Width m* from which the Gauss-Newton term of the Q6 certificate at init outgrows -lambda_min(R).

    The certificate's bound is GN + lambda_min(R) with GN = (min l'') kappa^2 ||g_bar||^2 =
    rsc_lower_gn - rsc_lambda_min_R; both sides are fitted as power laws in width over the same
    seeds and m* is where the fitted lines cross (extrapolate_threshold_width, joint bootstrap CI).
    """
    verdicts = []
    for fixed, rows in sweeps(frame, "spec.model.width", "rsc_lambda_min_R"):
        gauss_newton = rows["metric.rsc_lower_gn"].astype(float) - rows["metric.rsc_lambda_min_R"].astype(
            float
        )
        negative_part = -rows["metric.rsc_lambda_min_R"].astype(float)
        usable = (gauss_newton > 0) & (negative_part > 0)
        widths, seeds = rows["spec.model.width"][usable], rows["spec.seed"][usable]
        fit_gn = fit_scaling(widths, gauss_newton[usable], seeds, seed=seed)
        fit_r = fit_scaling(widths, negative_part[usable], seeds, seed=seed)
        threshold = extrapolate_threshold_width(fit_gn, fit_r, seed=seed)
        holds_everywhere = bool((rows["metric.rsc_lambda_min_R"].astype(float) >= 0).all())
        if holds_everywhere or (threshold.conclusive and math.isfinite(threshold.ci_high)):
            status = SUPPORTED
        elif threshold.conclusive and threshold.ci_low == math.inf:
            status = NOT_SUPPORTED
        else:
            status = INCONCLUSIVE
        numbers = {
            "m_star": float(rows["spec.model.width"].min()) if holds_everywhere else threshold.m_star,
            "m_star_ci": [threshold.ci_low, threshold.ci_high],
            "extrapolated": threshold.extrapolated,
            "gauss_newton_exponent": fit_gn.exponent,
            "minus_lambda_min_R_exponent": fit_r.exponent,
            "certified_at_init_fraction": float((rows["metric.rsc_lower"].astype(float) > 0).mean()),
            "theorem_width_threshold_median": _median(rows, "theorem_width_threshold"),
            "reason": threshold.reason,
        }
        activation = fixed["model.activation"]
        verdicts.append(
            Verdict(
                "V3" if _smooth(activation) else "V6",
                "a finite width m* exists from which the Q6 certificate holds at init (fitted laws, 95% CI)",
                f"{activation} m*",
                status,
                numbers,
                _source(fixed, rows),
                [
                    fit_record(fit_gn, "rsc_gauss_newton_term", "model.width"),
                    fit_record(fit_r, "rsc_minus_lambda_min_R", "model.width"),
                ],
            )
        )
    return verdicts


def _gd_groups(frame: pd.DataFrame) -> list[tuple[dict, pd.DataFrame]]:
    return sweeps(frame, "spec.model.width", "gd_steps_taken", min_values=1)


def _v4_v5(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    verdicts = []
    for fixed, rows in _gd_groups(frame):
        activation = fixed["model.activation"]
        largest = rows[rows["spec.model.width"] == rows["spec.model.width"].max()]
        fractions = largest["metric.gd_rsc_certified_fraction"].astype(float)
        estimate, low, high = bootstrap_ci(fractions.to_numpy(), largest["spec.seed"].to_numpy(), seed=seed)
        if fractions.isna().all():
            status4 = INCONCLUSIVE
        else:
            status4 = SUPPORTED if estimate >= V4_FRACTION else NOT_SUPPORTED
        numbers4 = {
            "largest_width": int(largest["spec.model.width"].iloc[0]),
            "certified_fraction": estimate,
            "ci": [low, high],
            "certified_at_init": float(largest["metric.gd_rsc_certified_at_init"].astype(float).mean()),
            "by_width": rows.groupby("spec.model.width")["metric.gd_rsc_certified_fraction"].mean().to_dict(),
        }
        identifier = "V4" if _smooth(activation) else "V6"
        claim4 = "RSC certified at >= 95% of GD checkpoints after t = 0 at the largest width"
        verdicts.append(Verdict(identifier, claim4, activation, status4, numbers4, _source(fixed, rows)))

        reached = rows["metric.gd_outcome"] == "reached_target"
        fitted = rows["metric.gd_rate_r2"].astype(float) >= V5_R2
        bounded = rows["metric.gd_geometric_rate"].astype(float) <= rows["metric.gd_predicted_rate"].astype(
            float
        )
        every = reached & fitted & bounded
        status5 = SUPPORTED if bool(every.all()) else NOT_SUPPORTED
        numbers5 = {
            "tasks": len(rows),
            "reached_target": int(reached.sum()),
            "r2_at_least_0.9": int(fitted.sum()),
            "rate_within_theorem": int(bounded.sum()),
            "median_steps_to_target": _plain(rows["metric.gd_steps_to_target"].astype(float).median()),
            "median_rate": float(rows["metric.gd_geometric_rate"].astype(float).median()),
            "median_predicted_rate": float(rows["metric.gd_predicted_rate"].astype(float).median()),
            "median_r2": float(rows["metric.gd_rate_r2"].astype(float).median()),
        }
        identifier = "V5" if _smooth(activation) else "V6"
        claim5 = (
            "GD reaches the target, log-loss R^2 >= 0.9, rate no slower than 1 - omega(2-omega) alpha/beta"
        )
        verdicts.append(Verdict(identifier, claim5, activation, status5, numbers5, _source(fixed, rows)))
        if status4 == SUPPORTED and status5 == NOT_SUPPORTED:
            verdicts.append(
                Verdict(
                    "V7",
                    "the certificate predicts progress: RSC certified (V4) and convergence (V5) agree",
                    activation,
                    NOT_SUPPORTED,
                    {
                        "V4": status4,
                        "V5": status5,
                        "median_certificate_ratio": _median(rows, "certificate_ratio"),
                    },
                    _source(fixed, rows),
                )
            )
    return verdicts


def judge(frame: pd.DataFrame, trajectories: pd.DataFrame | None = None, *, seed: int = 0) -> list[Verdict]:
    """All verdicts the stored records allow, in the order V1, V2, V3, V4/V5 (+V7), controls as V6.

    ``frame`` is ResultStore.to_frame(); ``trajectories`` (ResultStore.trajectory_frame()) adds the
    verdicts along GD (V1 on the largest predictor-Hessian norm over the checkpoints). Bootstrap
    draws are seeded with ``seed``.
    """
    if frame.empty:
        return []
    frame = with_along_gd(frame, trajectories, "predictor_hessian_max")
    verdicts = _v1(frame, seed) + _v2(frame, seed) + _v3(frame, seed) + _v4_v5(frame, seed)
    return sorted(verdicts, key=lambda v: (v.id, v.subject))


def _short(value: Any) -> str:
    """A headline number as text: floats to 3 significant digits, lists (CIs) as [low, high]."""
    if isinstance(value, list):
        return "[" + ", ".join(_short(item) for item in value) + "]"
    return f"{value:.3g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    """One row per verdict: id, subject, status, the claim judged and its headline numbers."""
    rows = []
    for verdict in verdicts:
        headline = {k: v for k, v in verdict.numbers.items() if not isinstance(v, dict) and k != "reason"}
        summary = ", ".join(f"{k}={_short(v)}" for k, v in headline.items())
        rows.append(
            {
                "id": verdict.id,
                "subject": verdict.subject,
                "status": verdict.status,
                "claim": verdict.claim,
                "numbers": summary,
            }
        )
    return pd.DataFrame(rows)
