"""Where one fitted power law in width overtakes another: the threshold width m*, with a paired
bootstrap CI (the width from which the Q6 certificate's Gauss-Newton term outgrows -lambda_min(R)),
and its CI over both the seeds and the choice of width window (threshold_width_over_windows)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rscbench.analysis.bootstrap import check_confidence
from rscbench.analysis.fits import ScalingFit, fit_scaling
from rscbench.errors import InvalidArgumentError, require_integer

__all__ = ["ThresholdWidth", "extrapolate_threshold_width", "threshold_width_over_windows"]


@dataclass(frozen=True)
class ThresholdWidth:
    """Width m* from which on one power law in m stays at or above another, with a bootstrap CI.

    Unpacks as ``(m_star, ci_low, ci_high)``. Widths are in the units of the fitted x (neurons).

    Attributes:
        m_star: the threshold width (>= 1), ``inf`` when the lhs never stays above the rhs, nan
            when undefined (a non-finite exponent or prefactor).
        ci_low, ci_high: percentile interval of m* over the paired bootstrap draws; ``ci_high`` is
            ``inf`` when a large enough share of draws never cross. nan when no draws exist.
        confidence: nominal coverage of the interval.
        conclusive: False when either fit is inconclusive or the interval could not be formed.
        reason: why inconclusive ("; "-joined); empty otherwise.
        extrapolated: True when m* lies outside the range of widths both fits were made on.
        paired: True when the two fits' draws were paired cluster by cluster (same groups, seed
            and n_boot), False when they were combined as independent draws.
        windows: for :func:`threshold_width_over_windows`, (smallest width, largest width, m*) of
            every width window the interval ranges over; empty otherwise.
    """

    m_star: float
    ci_low: float
    ci_high: float
    confidence: float
    conclusive: bool
    reason: str
    extrapolated: bool
    paired: bool
    windows: tuple[tuple[float, float, float], ...] = ()

    def __iter__(self) -> Iterator[float]:
        """Yield ``m_star, ci_low, ci_high`` so that the result unpacks like a 3-tuple."""
        return iter((self.m_star, self.ci_low, self.ci_high))


def _threshold(log_c1: np.ndarray, b1: np.ndarray, log_c2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Log of the smallest m >= 1 from which on C1 m^b1 >= C2 m^b2 for every larger m (inf: none)."""
    log_c1, b1, log_c2, b2 = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (log_c1, b1, log_c2, b2))
    )
    out = np.full(log_c1.shape, np.nan)
    finite = np.isfinite(log_c1) & np.isfinite(b1) & np.isfinite(log_c2) & np.isfinite(b2)
    db = b1 - b2
    gap = log_c2 - log_c1  # the lhs must gain this much log-height on the rhs
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = gap / db
    rising = finite & (db > 0)
    out[rising] = np.maximum(crossing[rising], 0.0)
    out[finite & (db < 0)] = math.inf  # the lhs falls behind for large m, whatever the height
    parallel = finite & (db == 0)
    out[parallel] = np.where(gap[parallel] <= 0, 0.0, math.inf)
    return out


def _log_c(fit: ScalingFit) -> float:
    return math.log(fit.prefactor) if fit.prefactor > 0 else math.nan


def _log_draws(fit_lhs: ScalingFit, fit_rhs: ScalingFit, seed: int) -> tuple[np.ndarray | None, bool]:
    """log m* of every bootstrap draw (nan-free; inf where a draw never crosses) and whether the two
    fits' draws were paired cluster by cluster; None when neither fit has draws."""
    d1, d2 = fit_lhs.draws, fit_rhs.draws
    if d1 is None and d2 is None:
        return None, False
    if d1 is None:
        d1 = np.tile([_log_c(fit_lhs), fit_lhs.exponent], (d2.shape[0], 1))
    if d2 is None:
        d2 = np.tile([_log_c(fit_rhs), fit_rhs.exponent], (d1.shape[0], 1))
    paired = (
        fit_lhs.draws is not None
        and fit_rhs.draws is not None
        and fit_lhs.group_labels is not None
        and fit_lhs.group_labels == fit_rhs.group_labels
        and fit_lhs.seed == fit_rhs.seed
        and d1.shape == d2.shape
    )
    if fit_lhs.draws is not None and fit_rhs.draws is not None and not paired:
        rng = np.random.default_rng(seed)
        k = min(d1.shape[0], d2.shape[0])
        d1 = d1[:k]
        d2 = d2[rng.permutation(d2.shape[0])[:k]]
    logs = _threshold(d1[:, 0], d1[:, 1], d2[:, 0], d2[:, 1])
    return logs[~np.isnan(logs)], bool(paired)


def _interval(logs: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of m* from draws of log m* (nan, nan without draws)."""
    if logs.size == 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    # inverted_cdf picks sample values, never interpolates towards inf
    q = np.quantile(logs, [alpha / 2.0, 1.0 - alpha / 2.0], method="inverted_cdf")
    return math.exp(q[0]), math.exp(q[1])


def extrapolate_threshold_width(
    fit_lhs: ScalingFit,
    fit_rhs: ScalingFit,
    *,
    confidence: float | None = None,
    seed: int = 0,
) -> ThresholdWidth:
    """Width m* from which on a quantity following ``fit_lhs`` stays >= one following ``fit_rhs``.

    Both fits must be power laws in width m: lhs = C1 m^b1, rhs = C2 m^b2. The lines cross at
    ``m_c = (C2 / C1)^(1 / (b1 - b2))``. Conventions (m* is a width, so m >= 1):

    * b1 > b2 (the lhs grows faster): m* = m_c, or 1 when m_c < 1 (the lhs is already above at
      every width >= 1);
    * b1 < b2 (the lhs falls behind for large m): m* = inf, whether or not the lines cross (if they
      cross at m_c > 1 the lhs is above only *below* m_c, never from some width on);
    * b1 == b2 (parallel): m* = 1 when C1 >= C2, inf otherwise;
    * a non-finite exponent or prefactor: m* = nan.

    The CI is the percentile interval of m* computed on each bootstrap draw (log C1, b1, log C2, b2).
    When both fits resampled the same group labels with the same seed and n_boot, draw k of each
    used the same clusters, so pairing them index by index is the joint bootstrap (it keeps the
    correlation between the two metrics measured on the same seeds). Otherwise the rhs draws are
    shuffled with a Generator seeded by ``seed`` and the fits are treated as independent. A fit
    from :meth:`ScalingFit.known` has no draws and is held fixed. Draws giving inf m* are kept, so
    ``ci_high`` is inf when more than the upper tail's share never cross.

    Args:
        fit_lhs, fit_rhs: power-law fits in width.
        confidence: coverage of the interval; defaults to ``fit_lhs.confidence`` (or 0.95 for a
            known law).
        seed: seed for the shuffle of unpaired draws.

    Returns:
        A :class:`ThresholdWidth` (unpacks as ``(m_star, ci_low, ci_high)``), widths in neurons.
    """
    for name, fit in (("fit_lhs", fit_lhs), ("fit_rhs", fit_rhs)):
        if not isinstance(fit, ScalingFit):
            raise InvalidArgumentError(name, type(fit).__name__, "a ScalingFit")
        if fit.law != "power":
            raise InvalidArgumentError(name, fit.law, "a power-law fit (law='power') in width")
    if confidence is None:
        confidence = fit_lhs.confidence if 0 < fit_lhs.confidence < 1 else 0.95
    check_confidence(confidence)
    require_integer("seed", seed, 0)

    point = float(_threshold(_log_c(fit_lhs), fit_lhs.exponent, _log_c(fit_rhs), fit_rhs.exponent))
    m_star = math.exp(point) if not math.isnan(point) else math.nan

    reasons = [f"{name} inconclusive ({fit.reason})" for name, fit in (("lhs", fit_lhs), ("rhs", fit_rhs))]
    reasons = [r for r, fit in zip(reasons, (fit_lhs, fit_rhs), strict=True) if not fit.conclusive]
    logs, paired = _log_draws(fit_lhs, fit_rhs, seed)
    if logs is None:
        ci_low = ci_high = m_star
    else:
        ci_low, ci_high = _interval(logs, confidence)
        if math.isnan(ci_low):
            reasons.append("no usable bootstrap draws")
    if math.isnan(m_star):
        reasons.append("non-finite exponent or prefactor")
    lo_range = max(fit_lhs.x_min, fit_rhs.x_min)
    hi_range = min(fit_lhs.x_max, fit_rhs.x_max)
    extrapolated = bool(math.isfinite(m_star) and not (lo_range <= m_star <= hi_range)) or m_star == math.inf
    return ThresholdWidth(
        m_star=m_star,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=float(confidence),
        conclusive=not reasons,
        reason="; ".join(reasons),
        extrapolated=extrapolated,
        paired=bool(paired),
    )


def threshold_width_over_windows(
    widths: Sequence[float] | np.ndarray,
    lhs: Sequence[float] | np.ndarray,
    rhs: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    *,
    min_widths: int = 3,
    min_groups: int = 3,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[ThresholdWidth, ScalingFit, ScalingFit]:
    """m* from which a quantity ``lhs`` ~ C1 m^b1 stays >= ``rhs`` ~ C2 m^b2, with a CI that carries both
    the seed resampling and the choice of width window.

    The point estimate and the two returned fits use every width. The interval pools, with equal
    weight, the paired bootstrap draws of m* (both fits resample the same ``groups`` with the same
    seed) of every *window*: each contiguous run of at least ``min_widths`` of the sorted distinct
    widths. An m* that depends on which widths were fitted therefore shows up as a wide interval.
    Values must be > 0 (filter them first, see fit_scaling). Widths in neurons.

    Returns:
        (threshold, fit of lhs, fit of rhs); ``threshold.windows`` lists each window's m*.
    """
    require_integer("min_widths", min_widths, 2)
    check_confidence(confidence)
    widths = np.asarray(widths, dtype=float)
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    labels = np.asarray(groups)
    options = {"seed": seed, "n_boot": n_boot, "min_x": min_widths, "min_groups": min_groups}
    fit_lhs = fit_scaling(widths, lhs, labels, **options)
    fit_rhs = fit_scaling(widths, rhs, labels, **options)
    full = extrapolate_threshold_width(fit_lhs, fit_rhs, confidence=confidence, seed=seed)
    distinct = np.unique(widths)
    pooled, windows = [], []
    for first in range(distinct.size):
        for last in range(first + min_widths - 1, distinct.size):
            inside = (widths >= distinct[first]) & (widths <= distinct[last])
            window_lhs = fit_scaling(widths[inside], lhs[inside], labels[inside], **options)
            window_rhs = fit_scaling(widths[inside], rhs[inside], labels[inside], **options)
            point = extrapolate_threshold_width(window_lhs, window_rhs, confidence=confidence, seed=seed)
            windows.append((float(distinct[first]), float(distinct[last]), point.m_star))
            logs, _ = _log_draws(window_lhs, window_rhs, seed)
            if logs is not None:
                pooled.append(logs)
    reasons = [full.reason] if full.reason else []
    if pooled:
        ci_low, ci_high = _interval(np.concatenate(pooled), confidence)
    else:
        ci_low = ci_high = math.nan
        if not reasons:
            reasons.append(f"fewer than {min_widths} distinct widths: no width window")
    threshold = ThresholdWidth(
        m_star=full.m_star,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=full.confidence,
        conclusive=full.conclusive and bool(pooled),
        reason="; ".join(reasons),
        extrapolated=full.extrapolated,
        paired=full.paired,
        windows=tuple(windows),
    )
    return threshold, fit_lhs, fit_rhs
