"""What a width sweep of one model family says: per width the certificate's two terms, c_H, the
theorem's threshold and the majority regime label; m* extrapolated from the widths <= 1024 (V3b/V8's
fit); the observed crossing; and the answer in words (observed or extrapolated).

Everything here reads a frame of the sweep's tasks as ResultStore.to_frame() gives it (columns
``status``, ``spec.model.width``, ``spec.seed`` and ``metric.*``), so it runs on stored or synthetic
records alike; nothing is measured.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from rscbench.analysis.regimes import REGIME_LABELS, task_regime
from rscbench.analysis.verdicts.crossing import V8_LARGEST_FIT_WIDTH, V8_SEED_SHARE, observed_crossing
from rscbench.analysis.verdicts.width import m_star_from_terms

__all__ = [
    "EXTRAPOLATED",
    "OBSERVED",
    "UNDETERMINED",
    "SweepAnswer",
    "WidthFinding",
    "crossing_confirmed",
    "sweep_answer",
    "width_findings",
]

WIDTH, STATUS = "spec.model.width", "status"
OBSERVED, EXTRAPOLATED, UNDETERMINED = "observed", "extrapolated", "undetermined"
"""How an answer was reached: a measured crossing, m* from the fitted laws alone, or neither."""
METRIC = "metric."


@dataclass(frozen=True)
class WidthFinding:
    """One measured width: ``seeds`` tasks (``ok`` of them finished), ``certified`` of them with the
    init certificate > 0, the majority regime label over the seeds (rscbench.analysis.regimes), and
    medians over the finished seeds of the Gauss-Newton term (min l'') kappa^2 ||g_bar||^2, of
    -lambda_min(R) and of the certified lower bound (all in loss units per parameter^2), of
    c_H = sqrt(m) max-probe ||Hessian of f|| (dimensionless), of the theorem's width threshold
    (neurons), of ||g_bar||^2 and of its infinite-width value at this width's sigma0 (NaN without one).
    """

    width: int
    seeds: int
    ok: int
    certified: int
    regime: str
    gauss_newton: float
    minus_lambda_min_R: float
    rsc_lower: float
    c_H: float
    theorem_threshold: float
    g_bar_sqnorm: float
    g_bar_sqnorm_limit: float


@dataclass(frozen=True)
class SweepAnswer:
    """The sweep's answer: m* (neurons) fitted on ``fit_widths`` with its CI over seeds and width
    windows (NaN when it could not be fitted, ``m_star_reason`` why; inf when the Gauss-Newton term
    falls behind), the ``observed_crossing`` (the smallest measured width from which on every measured
    width is certified in >= 2 of 3 seeds; None when none) with the measured width below it (0: none
    below), ``how`` (OBSERVED, EXTRAPOLATED or UNDETERMINED), how many times the largest measured width
    m* lies beyond it when no crossing was observed (``beyond_largest_width``; None otherwise) and the
    ``regime`` in words."""

    m_star: float
    m_star_ci: tuple[float, float]
    m_star_conclusive: bool
    m_star_reason: str
    fit_widths: tuple[int, ...]
    observed_crossing: int | None
    crossing_below: int | None
    how: str
    beyond_largest_width: float | None
    largest_width: int
    regime: str


def _plain(value: object) -> object:
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value


def _regime(row: pd.Series) -> str:
    """The primary regime label of one task row."""
    metrics = {key[len(METRIC) :]: _plain(value) for key, value in row.items() if str(key).startswith(METRIC)}
    return task_regime(str(row[STATUS]), metrics).primary


def _majority(labels: list[str]) -> str:
    """The most frequent label; a tie goes to the first in REGIME_LABELS order."""
    counts = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], REGIME_LABELS.index(label)))


def _numbers(rows: pd.DataFrame, column: str) -> pd.Series:
    """The column as floats (NaN where missing, or everywhere when the frame lacks it)."""
    if column not in rows:
        return pd.Series(math.nan, index=rows.index, dtype=float)
    return pd.to_numeric(rows[column], errors="coerce").astype(float)


def _median(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.median()) if len(values) else math.nan


def width_findings(frame: pd.DataFrame) -> tuple[WidthFinding, ...]:
    """One WidthFinding per measured width of ``frame``, by increasing width."""
    found = []
    for width, rows in frame.groupby(frame[WIDTH].astype(int), sort=True):
        ok = rows[rows[STATUS] == "ok"]
        lam = _numbers(ok, "metric.rsc_lambda_min_R")
        found.append(
            WidthFinding(
                width=int(width),
                seeds=len(rows),
                ok=len(ok),
                certified=int((_numbers(rows, "metric.rsc_lower") > 0).sum()),
                regime=_majority([_regime(row) for _, row in rows.iterrows()]),
                gauss_newton=_median(_numbers(ok, "metric.rsc_lower_gn") - lam),
                minus_lambda_min_R=-_median(lam),
                rsc_lower=_median(_numbers(ok, "metric.rsc_lower")),
                c_H=_median(_numbers(ok, "metric.predictor_hessian_scaled_max")),
                theorem_threshold=_median(_numbers(ok, "metric.theorem_width_threshold")),
                g_bar_sqnorm=_median(_numbers(ok, "metric.g_bar_sqnorm")),
                g_bar_sqnorm_limit=_median(_numbers(ok, "metric.g_bar_sqnorm_limit")),
            )
        )
    return tuple(found)


CERTIFICATE = ("metric.rsc_lower", "metric.rsc_lower_gn", "metric.rsc_lambda_min_R")
"""The certificate's columns; a frame without them (every task failed) has no answer."""


def _measured(frame: pd.DataFrame) -> bool:
    return all(column in frame for column in CERTIFICATE)


def _crossing(frame: pd.DataFrame) -> tuple[int | None, int | None]:
    if not _measured(frame):
        return None, None
    crossing, below = observed_crossing(frame)
    if crossing is None:
        return None, None
    return int(crossing), int(below)


def crossing_confirmed(frame: pd.DataFrame) -> bool:
    """Whether a crossing was observed and confirmed at one more width: the certificate holds in >= 2 of
    3 seeds at the crossing and at least one larger measured width (so the sweep may stop)."""
    crossing, _ = _crossing(frame)
    return crossing is not None and sum(w >= crossing for w in frame[WIDTH].astype(int).unique()) >= 2


def _sentence(answer: SweepAnswer, findings: tuple[WidthFinding, ...]) -> str:
    """The family's regime in words."""
    if answer.observed_crossing is not None:
        at = next(f for f in findings if f.width == answer.observed_crossing)
        return f"certified at init from width {at.width} (observed in {at.certified}/{at.seeds} seeds)"
    certified = [f.width for f in findings if f.certified >= V8_SEED_SHARE * f.seeds - 1e-12]
    where = (
        "not certified at any measured width"
        if not certified
        else "not certified from any measured width on (certified in >= 2 of 3 seeds at width "
        + ", ".join(str(w) for w in certified)
        + " only)"
    )
    if math.isnan(answer.m_star):
        return f"{where}; m* could not be extrapolated ({answer.m_star_reason or 'too few widths'})"
    if math.isinf(answer.m_star):
        return f"{where}; m* extrapolated to infinity (the Gauss-Newton term falls behind -lambda_min(R))"
    return (
        f"{where}; m* extrapolated to {answer.m_star:.3g} "
        f"({answer.beyond_largest_width:.3g}x the largest measured width {answer.largest_width})"
    )


def sweep_answer(frame: pd.DataFrame, *, seed: int = 0) -> SweepAnswer:
    """The answer of the sweep in ``frame``: m* fitted on its widths <= V8_LARGEST_FIT_WIDTH
    (rscbench.analysis.verdicts.width.m_star_from_terms, bootstrap ``seed``), the observed crossing
    over all its widths, and the regime in words."""
    widths = frame[WIDTH].astype(int)
    small = frame[(widths <= V8_LARGEST_FIT_WIDTH) & (frame[STATUS] == "ok")]
    if _measured(small):
        threshold, _, _, reason = m_star_from_terms(small, seed)
    else:
        threshold, reason = None, "no finished task measured the certificate"
    m_star = threshold.m_star if threshold is not None else math.nan
    ci = (threshold.ci_low, threshold.ci_high) if threshold is not None else (math.nan, math.nan)
    crossing, below = _crossing(frame)
    largest = int(widths.max())
    how = OBSERVED if crossing is not None else UNDETERMINED if math.isnan(m_star) else EXTRAPOLATED
    answer = SweepAnswer(
        m_star=float(m_star),
        m_star_ci=(float(ci[0]), float(ci[1])),
        m_star_conclusive=threshold is not None and not reason,
        m_star_reason=reason,
        fit_widths=tuple(sorted(int(w) for w in small[WIDTH].astype(int).unique())),
        observed_crossing=crossing,
        crossing_below=below,
        how=how,
        beyond_largest_width=m_star / largest if crossing is None and not math.isnan(m_star) else None,
        largest_width=largest,
        regime="",
    )
    return dataclasses.replace(answer, regime=_sentence(answer, width_findings(frame)))
