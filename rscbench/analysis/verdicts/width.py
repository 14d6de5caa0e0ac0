"""The width laws: V1 (predictor Hessian at init and along GD), V3 (the average-gradient condition and
the width m* of the init certificate) and V8 (the observed crossing against m*)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from rscbench.analysis.fits import fit_scaling
from rscbench.analysis.thresholds import threshold_width_over_windows
from rscbench.analysis.verdicts.common import (
    ALONG_GD_SUFFIX,
    INCONCLUSIVE,
    MIN_SEEDS,
    NOT_SUPPORTED,
    SUPPORTED,
    WIDTH,
    Verdict,
    evidence_reason,
    fit_numbers,
    fit_record,
    gd_tasks,
    init_tasks,
    interval_status,
    make_verdict,
    median,
    positive,
    sweeps,
)

__all__ = [
    "V1_BAND",
    "V3_FLOOR",
    "V8_LARGEST_FIT_WIDTH",
    "V8_SEED_SHARE",
    "certificate_m_star",
    "observed_crossing",
    "v1",
    "v3_m_star",
    "v3_width",
    "v8",
]

V1_BAND = (-0.6, -0.4)
V3_FLOOR = -0.5
V8_LARGEST_FIT_WIDTH = 1024
V8_SEED_SHARE = 2.0 / 3.0
"""V8's observed crossing: the smallest width from which, at every measured width, the certificate
holds at init in at least this share of the seeds (2 of 3)."""
SEED = "spec.seed"


def _fit(rows: pd.DataFrame, column: str, seed: int):
    return fit_scaling(
        rows[WIDTH].astype(float), rows[column].astype(float), rows[SEED], seed=seed, min_groups=MIN_SEEDS
    )


def _by_width(rows: pd.DataFrame, values: pd.Series) -> dict[int, float]:
    """Median of ``values`` (aligned with rows) per width."""
    return {int(w): float(v) for w, v in values.groupby(rows[WIDTH].astype(int)).median().items()}


def v1(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """V1 at init (CI inside [-0.6, -0.4]) and along GD (CI upper end <= -0.4), with c_H per width."""
    verdicts = []
    for along, tasks in ((False, init_tasks(frame)), (True, gd_tasks(frame))):
        metric = "predictor_hessian_max" + (ALONG_GD_SUFFIX if along else "")
        column = f"metric.{metric}"
        for fixed, rows in sweeps(tasks, WIDTH, metric, min_values=2):
            rows, dropped = positive(rows, column)
            if rows.empty:
                continue
            fit = _fit(rows, column, seed)
            reason = evidence_reason(rows) or fit.reason
            lower = -math.inf if along else V1_BAND[0]
            status, why = interval_status(fit.ci_low, fit.ci_high, lower, V1_BAND[1])
            if reason:
                status, why = INCONCLUSIVE, reason
            c_h = _by_width(rows, np.sqrt(rows[WIDTH].astype(float)) * rows[column].astype(float))
            numbers = fit_numbers(fit) | {
                "c_H_largest_width": c_h[max(c_h)],
                "c_H_by_width": c_h,
                "nonpositive_left_out": dropped,
            }
            claim = (
                "sup over GD checkpoints of max-probe ||Hessian of f|| ~ m^b with the 95% CI of b <= -0.4; "
                "c_H = sqrt(m) sup_t ||.|| per width"
                if along
                else "max-probe ||Hessian of f|| at init ~ m^b with the 95% CI of b inside [-0.6, -0.4]; "
                "c_H = sqrt(m) ||.|| per width"
            )
            verdicts.append(
                make_verdict(
                    "V1",
                    fixed,
                    rows,
                    claim=claim,
                    aspect="along GD" if along else "at init",
                    status=status,
                    numbers=numbers,
                    fits=[fit_record(fit, metric, "model.width")],
                    reason=why,
                )
            )
    return verdicts


def v3_width(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """V3 (a): the exponent of ||g_bar(theta_0)||^2 in m (CI lower end > -1/2), with the
    infinite-width value and the measured/limit ratio beside each width."""
    verdicts = []
    column, limit = "metric.g_bar_sqnorm", "metric.g_bar_sqnorm_limit"
    for fixed, rows in sweeps(init_tasks(frame), WIDTH, "g_bar_sqnorm", min_values=2):
        rows, dropped = positive(rows, column)
        if rows.empty:
            continue
        fit = _fit(rows, column, seed)
        reason = evidence_reason(rows) or fit.reason
        status, why = interval_status(fit.ci_low, fit.ci_high, V3_FLOOR, strict_lower=True)
        if reason:
            status, why = INCONCLUSIVE, reason
        numbers = fit_numbers(fit) | {"nonpositive_left_out": dropped}
        fits = [fit_record(fit, "g_bar_sqnorm", "model.width")]
        if limit in rows and rows[limit].notna().all():
            ratio = rows[column].astype(float) / rows[limit].astype(float)
            measured, limits, ratios = (_by_width(rows, s) for s in (rows[column], rows[limit], ratio))
            widths = np.array(sorted(limits), dtype=float)
            numbers |= {
                "measured_over_limit_largest_width": ratios[max(ratios)],
                "limit_exponent": float(np.polyfit(np.log(widths), np.log([limits[w] for w in limits]), 1)[0])
                if len(widths) >= 2
                else math.nan,
                "by_width": {
                    w: {"measured": measured[w], "limit": limits[w], "ratio": ratios[w]} for w in limits
                },
            }
            ratio_fit = fit_scaling(
                rows[WIDTH].astype(float), ratio, rows[SEED], seed=seed, min_groups=MIN_SEEDS
            )
            numbers["ratio_exponent"] = ratio_fit.exponent
            fits.append(fit_record(ratio_fit, "g_bar_sqnorm_over_limit", "model.width"))
        verdicts.append(
            make_verdict(
                "V3",
                fixed,
                rows,
                claim="||g_bar(theta_0)||^2 ~ m^b with the 95% CI's lower end > -1/2 (the RSC condition "
                "||g_bar||^2 >= c/sqrt(m) holds at large m); the infinite-width value beside each width",
                aspect="width exponent",
                status=status,
                numbers=numbers,
                fits=fits,
                reason=why,
            )
        )
    return verdicts


def _certificate_terms(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The rows where both terms of the init certificate are > 0, with GN = (min l'') kappa^2 ||g_bar||^2
    (= rsc_lower_gn - rsc_lambda_min_R) and -lambda_min(R)."""
    lam = rows["metric.rsc_lambda_min_R"].astype(float)
    gauss_newton = rows["metric.rsc_lower_gn"].astype(float) - lam
    usable = (gauss_newton > 0) & (-lam > 0)
    return rows[usable], gauss_newton[usable], -lam[usable]


def certificate_m_star(rows: pd.DataFrame, seed: int) -> tuple[Any, Any, Any, str]:
    """m* (threshold_width_over_windows) from the certificate's terms on ``rows``, or a reason it cannot."""
    usable, gauss_newton, minus_r = _certificate_terms(rows)
    reason = evidence_reason(usable)
    if usable[WIDTH].nunique() < 2 or usable[SEED].nunique() < 2:
        return None, None, None, reason or "fewer than 2 widths with both terms > 0"
    threshold, fit_gn, fit_r = threshold_width_over_windows(
        usable[WIDTH].astype(float), gauss_newton, minus_r, usable[SEED].to_numpy(), seed=seed
    )
    return threshold, fit_gn, fit_r, reason or threshold.reason


def v3_m_star(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """V3 (b): the width m* from which the Q6 certificate holds at init, from the fitted laws of its two
    terms, with a CI over seeds and width windows."""
    verdicts = []
    for fixed, rows in sweeps(frame, WIDTH, "rsc_lambda_min_R", min_values=2):
        holds_everywhere = bool((rows["metric.rsc_lambda_min_R"].astype(float) >= 0).all())
        threshold, fit_gn, fit_r, reason = certificate_m_star(rows, seed)
        numbers: dict[str, Any] = {
            "certified_at_init_fraction": float((rows["metric.rsc_lower"].astype(float) > 0).mean()),
            "theorem_width_threshold_median": median(rows, "metric.theorem_width_threshold"),
            "largest_width": int(rows[WIDTH].max()),
        }
        fits = []
        if holds_everywhere and not evidence_reason(rows):
            status, numbers["m_star_at_most"] = SUPPORTED, int(rows[WIDTH].min())
        elif threshold is None:
            status = INCONCLUSIVE
        else:
            numbers |= {
                "m_star": threshold.m_star,
                "m_star_ci": [threshold.ci_low, threshold.ci_high],
                "extrapolated": threshold.extrapolated,
                "beyond_largest_width": threshold.m_star / float(rows[WIDTH].max()),
                "windows": [list(window) for window in threshold.windows],
                "gauss_newton_exponent": fit_gn.exponent,
                "minus_lambda_min_R_exponent": fit_r.exponent,
            }
            fits = [
                fit_record(fit_gn, "rsc_gauss_newton_term", "model.width"),
                fit_record(fit_r, "rsc_minus_lambda_min_R", "model.width"),
            ]
            if reason:
                status = INCONCLUSIVE
            elif math.isfinite(threshold.ci_high):
                status = SUPPORTED
            elif threshold.ci_low == math.inf:
                status = NOT_SUPPORTED
            else:
                status, reason = INCONCLUSIVE, "the CI's upper end is infinite (some draws never cross)"
        verdicts.append(
            make_verdict(
                "V3",
                fixed,
                rows,
                claim="a finite width m* exists from which the Q6 certificate holds at init (fitted laws of "
                "its two terms; 95% CI over seeds and width windows)",
                aspect="m*",
                status=status,
                numbers=numbers,
                fits=fits,
                reason=reason,
            )
        )
    return verdicts


def observed_crossing(rows: pd.DataFrame) -> tuple[float | None, float]:
    """(first certified width, the measured width below it or 0), or (None, nan) when no width crosses:
    the smallest width from which every measured width is certified in >= V8_SEED_SHARE of the seeds."""
    share = (rows["metric.rsc_lower"].astype(float) > 0).groupby(rows[WIDTH].astype(float)).mean()
    widths = list(share.index)
    crossing = None
    for index in range(len(widths) - 1, -1, -1):
        if share.iloc[index] >= V8_SEED_SHARE - 1e-12:
            crossing = index
        else:
            break
    if crossing is None:
        return None, math.nan
    return widths[crossing], (widths[crossing - 1] if crossing > 0 else 0.0)


def v8(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """V8: the observed width from which the certificate holds at init against m* fitted on the widths
    <= V8_LARGEST_FIT_WIDTH alone."""
    verdicts = []
    for fixed, rows in sweeps(frame, WIDTH, "rsc_lambda_min_R", min_values=2):
        small = rows[rows[WIDTH].astype(float) <= V8_LARGEST_FIT_WIDTH]
        threshold, _, _, reason = certificate_m_star(small, seed)
        crossing, below = observed_crossing(rows) if rows[SEED].nunique() >= MIN_SEEDS else (None, math.nan)
        largest = float(rows[WIDTH].max())
        numbers: dict[str, Any] = {
            "observed_crossing": crossing,
            "crossing_bracket": [below, crossing] if crossing is not None else None,
            "largest_width": int(largest),
            "certified_share_by_width": {
                int(w): float(v)
                for w, v in (rows["metric.rsc_lower"].astype(float) > 0)
                .groupby(rows[WIDTH].astype(int))
                .mean()
                .items()
            },
        }
        if threshold is not None:
            numbers |= {
                "predicted_m_star": threshold.m_star,
                "predicted_ci": [threshold.ci_low, threshold.ci_high],
                "fit_widths": sorted(int(w) for w in small[WIDTH].unique()),
            }
        if rows[SEED].nunique() < MIN_SEEDS:
            status, reason = INCONCLUSIVE, evidence_reason(rows)
        elif threshold is None or reason:
            status = INCONCLUSIVE
            reason = f"no prediction from widths <= {V8_LARGEST_FIT_WIDTH}: {reason or 'too few widths'}"
        elif crossing is None:
            status = INCONCLUSIVE
            reason = (
                f"no measured width crosses; the prediction m* = {threshold.m_star:.3g} lies "
                f"{threshold.m_star / largest:.3g}x beyond the largest measured width {largest:g}"
            )
            numbers["prediction_beyond_largest_width"] = threshold.m_star / largest
        else:
            inside = threshold.ci_low <= crossing and below <= threshold.ci_high
            status = SUPPORTED if inside else NOT_SUPPORTED
        verdicts.append(
            make_verdict(
                "V8",
                fixed,
                rows,
                claim=f"the certificate holds at init from the predicted width: the observed crossing "
                f"(certified in >= 2 of 3 seeds from there on) lies inside the CI of m* fitted on widths <= "
                f"{V8_LARGEST_FIT_WIDTH}",
                aspect="crossing",
                status=status,
                numbers=numbers,
                reason=reason,
            )
        )
    return verdicts
