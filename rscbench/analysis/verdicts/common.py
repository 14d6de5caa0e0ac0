"""What every verdict shares: statuses, the Verdict and Finding records, how a sweep is found in the
stored tasks, who the theory covers (and what a control is expected to do), the minimum-evidence rule
and the interval tests (docs/verdicts.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rscbench.analysis.fits import ScalingFit
from rscbench.models.activations import ACTIVATIONS

__all__ = [
    "ALONG_GD_SUFFIX",
    "CONTROL_STATUSES",
    "COVERED_STATUSES",
    "DEPTH",
    "FAILS",
    "HOLDS",
    "INCONCLUSIVE",
    "MIN_SEEDS",
    "MIN_VALUES",
    "NOT_MEASURED",
    "NOT_SUPPORTED",
    "SUPPORTED",
    "WIDTH",
    "Finding",
    "Verdict",
    "evidence_reason",
    "fit_numbers",
    "fit_record",
    "gd_tasks",
    "init_tasks",
    "interval_status",
    "make_verdict",
    "median",
    "optimizer_of",
    "plain",
    "positive",
    "source_of",
    "subject_of",
    "sweeps",
]

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
HOLDS, FAILS = "holds", "fails"
NOT_MEASURED = "not measured"
COVERED_STATUSES = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NOT_MEASURED)
CONTROL_STATUSES = (HOLDS, FAILS, INCONCLUSIVE, NOT_MEASURED)
MIN_SEEDS = 3
MIN_VALUES = 3
"""The minimum-evidence rule: fewer seeds or fewer distinct widths (depths) than this is inconclusive."""
ALONG_GD_SUFFIX = "_along_gd"
WIDTH, DEPTH, SEED = "spec.model.width", "spec.model.depth", "spec.seed"
_AS_CONTROL = {SUPPORTED: HOLDS, NOT_SUPPORTED: FAILS}


@dataclass(frozen=True)
class Verdict:
    """One judged claim (docs/verdicts.md).

    ``id`` is V1..V8 (V6 for every control row), ``form`` the verdict whose measured form the row
    applies (its own id for a covered subject; V1..V5, V7, V8 for a control), ``aspect`` which part of
    the claim (e.g. "at init", "along GD", "m*"), ``subject`` the model family (activation and sigma1,
    or a user's ``arch``), ``covered`` whether the theory covers that subject. ``status`` is supported /
    not supported / inconclusive for a covered subject, holds / fails / inconclusive for a control, or
    "not measured". ``expectation`` is what a control is expected to do, ``reason`` why a row is
    inconclusive or what experiment a "not measured" row needs. ``numbers`` holds the evidence,
    ``source`` the fixed spec fields of the sweep, ``fits`` every scaling law the row rests on.
    """

    id: str
    claim: str
    subject: str
    status: str
    numbers: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    fits: list[dict[str, Any]] = field(default_factory=list)
    covered: bool = True
    form: str = ""
    aspect: str = ""
    expectation: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        """Default ``form`` to ``id``."""
        if not self.form:
            object.__setattr__(self, "form", self.id)


@dataclass(frozen=True)
class Finding:
    """A measured fact the paper does not claim but that explains where its regime starts (the report's
    "regime findings"): ``name``, ``subject``, ``numbers``, ``source`` and ``fits`` as in a Verdict."""

    name: str
    subject: str
    numbers: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    fits: list[dict[str, Any]] = field(default_factory=list)


def plain(value: Any) -> Any:
    """A numpy scalar as a Python one (anything else unchanged)."""
    return value.item() if hasattr(value, "item") else value


def _is_factory(fixed: dict[str, Any]) -> bool:
    return str(fixed.get("model.arch", "paper_mlp")) != "paper_mlp"


def _present(value: Any) -> bool:
    """Whether a fixed spec value is set (a column of a mixed frame is NaN where a task left it out)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def optimizer_of(fixed: dict[str, Any]) -> str:
    """The sweep's training rule: its ``protocol.optimizer``, "gd" where the spec leaves it out."""
    value = fixed.get("protocol.optimizer")
    return str(value) if _present(value) else "gd"


def subject_of(fixed: dict[str, Any]) -> str:
    """The model family: "<activation> sigma1=<s>" for the paper's network, the ``arch`` for a user's;
    trained with an optimizer other than the theorem's GD, followed by it in brackets ("[adam]")."""
    family = (
        str(fixed["model.arch"])
        if _is_factory(fixed)
        else f"{fixed.get('model.activation')} sigma1={float(fixed.get('model.sigma1', 1.0)):g}"
    )
    optimizer = optimizer_of(fixed)
    return family if optimizer == "gd" else f"{family} [{optimizer}]"


def _covered(fixed: dict[str, Any], depth_law: bool) -> bool:
    """Whether the theory covers the sweep's subject: the paper's network with a smooth activation,
    trained (if at all) by the theorem's GD, and for a depth law also sigma1 < 1
    (gamma = sigma1 + rho / sqrt(m) <= 1 needs it)."""
    if _is_factory(fixed) or optimizer_of(fixed) != "gd":
        return False
    activation = ACTIVATIONS.get(str(fixed.get("model.activation")))
    if activation is None or not activation.covered_by_theory:
        return False
    return not (depth_law and float(fixed.get("model.sigma1", 1.0)) >= 1.0)


_RELU = {
    ("V1", "at init"): "expected to hold: at init the dominant v-W^(L) block needs only phi', which ReLU has",
    (
        "V1",
        "along GD",
    ): "no expectation: autograd gives ReLU's Hessian only where it exists (phi'' = 0 a.e.), "
    "so the measured norm misses the kinks a GD step crosses",
    ("V3", "width exponent"): "expected to hold: ||g_bar||^2 needs only phi'; the theorem's use of it needs "
    "smoothness ReLU lacks",
    (
        "V3",
        "m*",
    ): "the certificate's terms are measured without the kinks (phi'' = 0 a.e.): a width m* here is no "
    "certificate for ReLU",
    ("V4", "certified fraction"): "the certificate uses autograd Hessians that miss the kinks: certified "
    "checkpoints are no certificate for ReLU",
    ("V5", "geometric tail"): "no expectation from this theory (wide ReLU networks converge in the NTK view)",
    ("V7", "progress where certified"): "as for V4: there is no certificate to weigh for ReLU",
    ("V8", "crossing"): "as for V3 m*: the certificate's crossing is measured without the kinks",
}
_DEEP = (
    "sigma1 >= 1 (gamma > 1): the theorem only bounds the norm by a constant exponential in L, so slower "
    "growth is no evidence against it; tanh at sigma1 = 2 sits at its edge of chaos (sigma0 ~ 1), and a test "
    "of the exponential regime needs sigma1 >= 3"
)
_FACTORY = (
    "a user's model: its smoothness and initialization are unknown to the theory, so the same measured form "
    "is reported as a control, with no expectation"
)


_TRAINED = (
    "trained with {optimizer}, not the theorem's full-batch GD with eta = omega / beta_hat: the same "
    "measured form is reported as a control, with no expectation from this theory, never as evidence for "
    "or against it"
)


def _expectation(fixed: dict[str, Any], form: str, aspect: str, depth_law: bool) -> str:
    optimizer = optimizer_of(fixed)
    if optimizer != "gd":
        return _TRAINED.format(optimizer=optimizer)
    if _is_factory(fixed):
        return _FACTORY
    activation = ACTIVATIONS.get(str(fixed.get("model.activation")))
    if activation is not None and not activation.covered_by_theory:
        return _RELU.get((form, aspect), "no expectation: the theory does not cover this activation")
    return _DEEP if depth_law else ""


def make_verdict(
    form: str,
    fixed: dict[str, Any],
    rows: pd.DataFrame,
    *,
    claim: str,
    aspect: str,
    status: str,
    numbers: dict[str, Any],
    fits: list[dict[str, Any]] | None = None,
    reason: str = "",
    depth_law: bool = False,
    control_claim: str | None = None,
) -> Verdict:
    """A verdict of ``form`` on the sweep ``rows`` with fixed fields ``fixed``: a covered row keeps its
    id and status; a control becomes a V6 row (status holds / fails / inconclusive, ``control_claim``
    when the control's form is worded differently) with its written expectation."""
    covered = _covered(fixed, depth_law)
    return Verdict(
        id=form if covered else "V6",
        claim=claim if covered or control_claim is None else control_claim,
        subject=subject_of(fixed),
        status=status if covered else _AS_CONTROL.get(status, status),
        numbers=numbers,
        source=source_of(fixed, rows),
        fits=fits or [],
        covered=covered,
        form=form,
        aspect=aspect,
        expectation="" if covered else _expectation(fixed, form, aspect, depth_law),
        reason=reason,
    )


def source_of(fixed: dict[str, Any], rows: pd.DataFrame | None) -> dict[str, Any]:
    """The fixed spec fields that identify a sweep (model, loss, data), and its task count."""
    keep = (
        "model.arch",
        "model.activation",
        "model.depth",
        "model.width",
        "model.sigma1",
        "loss",
        "data.dataset",
        "data.n",
        "protocol.gd_steps",
        "protocol.optimizer",
        "protocol.lr",
        "protocol.batch_size",
        "protocol.lr_schedule",
        "protocol.momentum",
    )
    found = {key: plain(fixed[key]) for key in keep if key in fixed and _present(fixed[key])}
    return found | ({"tasks": len(rows)} if rows is not None else {})


def sweeps(
    frame: pd.DataFrame,
    axis: str,
    metric: str,
    min_values: int = 3,
    statuses: tuple[str, ...] = ("ok",),
) -> list[tuple[dict, pd.DataFrame]]:
    """Groups of tasks (with a status in ``statuses`` and ``metric`` measured) that differ only in
    ``axis`` (a spec column) and the seed: (fixed fields, rows) per group with at least ``min_values``
    distinct axis values."""
    column = f"metric.{metric}"
    if column not in frame or axis not in frame:
        return []
    rows = frame[frame["status"].isin(statuses) & frame[column].notna()]
    spec_columns = [c for c in rows.columns if c.startswith("spec.") and c not in (axis, SEED)]
    found = []
    if rows.empty:
        return found
    keys = rows[spec_columns].astype(str)
    for _, group in rows.groupby([keys[c] for c in spec_columns], sort=True, dropna=False):
        if group[axis].nunique() >= min_values:
            fixed = {c.removeprefix("spec."): group[c].iloc[0] for c in spec_columns}
            found.append((fixed, group))
    return found


def init_tasks(frame: pd.DataFrame) -> pd.DataFrame:
    """Tasks measured at init only (gd_steps == 0, or no such column)."""
    column = "spec.protocol.gd_steps"
    if column not in frame:
        return frame
    return frame[pd.to_numeric(frame[column], errors="coerce").fillna(0) == 0]


def gd_tasks(frame: pd.DataFrame) -> pd.DataFrame:
    """Tasks that ran gradient descent (gd_steps > 0)."""
    column = "spec.protocol.gd_steps"
    if column not in frame:
        return frame.iloc[0:0]
    return frame[pd.to_numeric(frame[column], errors="coerce").fillna(0) > 0]


def positive(rows: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    """Rows whose ``column`` is finite and > 0 (what a log fit can use), and how many were left out."""
    values = pd.to_numeric(rows[column], errors="coerce")
    keep = np.isfinite(values) & (values > 0)
    return rows[keep], int((~keep).sum())


def evidence_reason(rows: pd.DataFrame, axis: str = WIDTH, *, min_values: int = MIN_VALUES) -> str:
    """Why ``rows`` are too few for a verdict (the minimum-evidence rule), or "" when they suffice."""
    what = "depths" if axis == DEPTH else "widths"
    reasons = []
    seeds = rows[SEED].nunique() if SEED in rows else 0
    values = rows[axis].nunique() if axis in rows else 0
    if seeds < MIN_SEEDS:
        reasons.append(f"{seeds} seed{'s' if seeds != 1 else ''} < {MIN_SEEDS}")
    if values < min_values:
        reasons.append(f"{values} {what if values != 1 else what[:-1]} < {min_values}")
    return "; ".join(reasons)


def interval_status(
    low: float, high: float, lower: float = -math.inf, upper: float = math.inf, *, strict_lower: bool = False
) -> tuple[str, str]:
    """(status, reason) of a CI [low, high] against the claimed region [lower, upper]: supported when the
    CI lies inside it, not supported when it lies wholly outside, inconclusive when it straddles an end
    (or is not finite). ``strict_lower`` makes the region's lower end open."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return INCONCLUSIVE, "the CI is not finite"
    above = low > lower if strict_lower else low >= lower
    if above and high <= upper:
        return SUPPORTED, ""
    outside_low = high <= lower if strict_lower else high < lower
    if outside_low or low > upper:
        return NOT_SUPPORTED, ""
    region = f"{'(' if strict_lower else '['}{lower:g}, {upper:g}]"
    return INCONCLUSIVE, f"the 95% CI [{low:.3g}, {high:.3g}] straddles an end of the claimed region {region}"


def fit_numbers(fit: ScalingFit) -> dict[str, Any]:
    """A fit's exponent, CI, R^2 and counts, flat."""
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


def fit_record(fit: ScalingFit, metric: str, axis: str) -> dict[str, Any]:
    """A fitted law as a flat dict: the metric and axis (spec field) it relates, law, exponent, CI, R^2,
    counts. The exponent is dimensionless for a power law, per layer for an exponential law."""
    return {"metric": metric, "axis": axis, "law": fit.law} | fit_numbers(fit)


def median(rows: pd.DataFrame, column: str) -> float:
    """Median of a column over rows (NaN when absent or empty)."""
    if column not in rows:
        return math.nan
    values = pd.to_numeric(rows[column], errors="coerce").dropna()
    return float(values.median()) if len(values) else math.nan
