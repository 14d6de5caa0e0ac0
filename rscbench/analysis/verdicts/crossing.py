"""V8: where the regime starts, observed. The width from which the init certificate holds in the
measurements, against m* extrapolated from the widths <= V8_LARGEST_FIT_WIDTH alone, and, where the
two disagree, by how much and which of the certificate's two terms left its fitted law."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from rscbench.analysis.verdicts.common import (
    INCONCLUSIVE,
    MIN_SEEDS,
    NOT_SUPPORTED,
    SUPPORTED,
    WIDTH,
    Verdict,
    evidence_reason,
    make_verdict,
    median,
    sweeps,
)
from rscbench.analysis.verdicts.width import certificate_terms, m_star_from_terms

__all__ = ["V8_LARGEST_FIT_WIDTH", "V8_SEED_SHARE", "observed_crossing", "term_departures", "v8"]

V8_LARGEST_FIT_WIDTH = 1024
"""m* for V8 is fitted on the widths up to this one only; the wider ones test it."""
V8_SEED_SHARE = 2.0 / 3.0
"""V8's observed crossing: the smallest width from which, at every measured width, the certificate
holds at init in at least this share of the seeds (2 of 3)."""
SEED = "spec.seed"
TERMS = {"gauss_newton": "the Gauss-Newton term", "minus_lambda_min_R": "-lambda_min(R)"}


def certified_share(rows: pd.DataFrame) -> pd.Series:
    """The share of seeds whose init certificate holds (rsc_lower > 0), per width (ascending)."""
    holds = rows["metric.rsc_lower"].astype(float) > 0
    return holds.groupby(rows[WIDTH].astype(float)).mean().sort_index()


def observed_crossing(rows: pd.DataFrame) -> tuple[float | None, float]:
    """(first certified width, the measured width below it or 0), or (None, nan) when no width crosses:
    the smallest width from which every measured width is certified in >= V8_SEED_SHARE of the seeds."""
    share = certified_share(rows)
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


def term_departures(rows: pd.DataFrame, fits: dict[str, Any], width: float) -> dict[str, float]:
    """Each certificate term's median over seeds at ``width`` divided by its fitted law C m^b there
    (``fits``: term key of TERMS -> ScalingFit); 1 means the law held out to that width. nan where
    the width has no usable row."""
    usable, gauss_newton, minus_r = certificate_terms(rows)
    at_width = usable[WIDTH].astype(float) == width
    measured = {"gauss_newton": gauss_newton[at_width], "minus_lambda_min_R": minus_r[at_width]}
    departures = {}
    for key, fit in fits.items():
        values = measured[key]
        law = fit.prefactor * width**fit.exponent
        departures[key] = float(values.median() / law) if len(values) and law > 0 else math.nan
    return departures


def _bent_term(departures: dict[str, float]) -> str:
    """The term whose measurement left its law the most (largest |log departure|), in words."""
    finite = {key: value for key, value in departures.items() if value > 0 and math.isfinite(value)}
    if not finite:
        return "neither term has a usable value there"
    key = max(finite, key=lambda name: abs(math.log(finite[name])))
    direction = "above" if finite[key] > 1 else "below"
    return f"{TERMS[key]}'s law bent the most (measured {finite[key]:.3g}x its law, {direction} it)"


def _disagreement(crossing: float, below: float, low: float, high: float) -> str:
    """How far the bracket (below, crossing] lies from the CI [low, high], in words."""
    if crossing < low:
        return f"the crossing {crossing:g} lies {low / crossing:.3g}x below the CI's lower end {low:.3g}"
    return (
        f"the crossing's bracket ({below:g}, {crossing:g}] lies {below / high:.3g}x above the CI's upper "
        f"end {high:.3g}"
    )


def v8(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """V8: the observed width from which the certificate holds at init against m* fitted on the widths
    <= V8_LARGEST_FIT_WIDTH alone; beside a crossing, each term's measured value there over its
    extrapolated law (term_departures)."""
    verdicts = []
    for fixed, rows in sweeps(frame, WIDTH, "rsc_lambda_min_R", min_values=2):
        small = rows[rows[WIDTH].astype(float) <= V8_LARGEST_FIT_WIDTH]
        threshold, fit_gn, fit_r, reason = m_star_from_terms(small, seed)
        enough_seeds = rows[SEED].nunique() >= MIN_SEEDS
        crossing, below = observed_crossing(rows) if enough_seeds else (None, math.nan)
        largest = float(rows[WIDTH].max())
        numbers: dict[str, Any] = {
            "observed_crossing": crossing,
            "crossing_bracket": [below, crossing] if crossing is not None else None,
            "largest_width": int(largest),
            "certified_share_by_width": {int(w): float(v) for w, v in certified_share(rows).items()},
            "theorem_width_threshold_median": median(rows, "metric.theorem_width_threshold"),
        }
        if threshold is not None:
            numbers |= {
                "predicted_m_star": threshold.m_star,
                "predicted_ci": [threshold.ci_low, threshold.ci_high],
                "fit_widths": sorted(int(w) for w in small[WIDTH].unique()),
                "gauss_newton_exponent": fit_gn.exponent,
                "minus_lambda_min_R_exponent": fit_r.exponent,
            }
        if not enough_seeds:
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
            fits = {"gauss_newton": fit_gn, "minus_lambda_min_R": fit_r}
            departures = term_departures(rows, fits, crossing)
            numbers["term_over_law_at_crossing"] = departures
            inside = threshold.ci_low <= crossing and below <= threshold.ci_high
            status = SUPPORTED if inside else NOT_SUPPORTED
            if not inside:
                reason = (
                    f"{_disagreement(crossing, below, threshold.ci_low, threshold.ci_high)} "
                    f"(m* = {threshold.m_star:.3g}); at width {crossing:g} {_bent_term(departures)}"
                )
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
