"""Scaling-law fits (power, exponential) with cluster-bootstrap CIs, and the choice of law in depth.

Everything here is plain numpy on floats; nothing touches torch. The conventions the verdicts
(docs/verdicts.md) rely on:

* A scaling law is a straight line in log space. ``law="power"`` fits ``metric ~ C x^b`` as
  ``log y = log C + b log x``; ``law="exponential"`` fits ``metric ~ C e^{c x}`` as
  ``log y = log C + c x``. Both are ordinary least squares over *all* observations (pooled).
* Uncertainty comes from a cluster bootstrap over the resampling units given by ``groups`` (a seed,
  or a seed x probe pair): whole groups are drawn with replacement, the line is refitted on the
  union of their observations, and the interval is read off the distribution of the refitted
  slopes. Without ``groups`` every observation is its own unit. Every random draw comes from one
  ``numpy.random.Generator`` seeded by ``seed``, so a call is deterministic.
* Percentile intervals from few clusters are too narrow (the bootstrap spread of G clusters is
  sqrt((G-1)/G) of the sampling spread, and a normal quantile is used where a t_{G-1} one belongs).
  The default ``interval="expanded"`` therefore reads the percentiles at a widened level alpha'
  chosen so that ``z_{alpha'/2} = sqrt(G/(G-1)) t_{alpha/2, G-1}`` (the "expanded percentile"
  interval, Hesterberg 2015, "What teachers should know about the bootstrap", section 6.1).
  ``interval="percentile"`` gives the plain percentile interval.
* A result is never shown with false precision: every fit carries ``conclusive`` and a ``reason``.
  Numbers may still be reported when ``conclusive`` is False, but a verdict must then be
  "inconclusive".
* Non-positive or non-finite metric values are refused (an :class:`InvalidArgumentError` naming
  ``y``), never dropped silently: a zero curvature or gradient norm is a finding the caller must
  handle on purpose, not a point to lose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rscbench.analysis.bootstrap import (
    INTERVALS,
    alpha_levels,
    as_vector,
    bootstrap_lines,
    check_confidence,
    group_index,
    ols_line,
)
from rscbench.errors import InvalidArgumentError, require_integer

__all__ = ["DepthModelChoice", "ScalingFit", "compare_depth_laws", "fit_scaling"]

_LAWS = ("power", "exponential")
# A bootstrap whose share of degenerate (unfittable) resamples exceeds this is inconclusive.
_MAX_SKIPPED_FRACTION = 0.10


@dataclass(frozen=True)
class ScalingFit:
    """A fitted scaling law ``metric ~ C x^b`` (power) or ``metric ~ C e^{c x}`` (exponential).

    Attributes:
        law: "power" or "exponential".
        exponent: b (power: d log y / d log x, dimensionless) or c (exponential: d log y / dx, per
            unit of x, e.g. per layer).
        ci_low, ci_high: ends of the bootstrap confidence interval of ``exponent`` (same units).
        confidence: the interval's nominal coverage, e.g. 0.95.
        prefactor: C, in the units of the metric.
        r2: coefficient of determination of the line in log space (nan when log y is constant).
        n_points: number of observations fitted.
        n_x: number of distinct x values.
        n_groups: number of resampling units (groups; observations when no groups were given).
        conclusive: False when the data cannot support a confident exponent (see ``reason``).
        reason: why the fit is inconclusive ("; "-joined); empty when conclusive.
        rss: residual sum of squares of log y (natural log) at the fitted line.
        x_min, x_max: range of the x values fitted (the fit says nothing outside it).
        n_boot: bootstrap resamples requested.
        n_boot_valid: resamples that could be refitted (the rest were degenerate and skipped).
        seed: seed of the bootstrap generator.
        draws: bootstrap draws of (log C, exponent), shape (n_boot, 2); rows of a skipped
            (degenerate) resample are nan. None for a law given exactly (:meth:`known`).
            Excluded from repr and equality.
        group_labels: the distinct group labels in the order the bootstrap indexes them (None when
            observations were resampled). Two fits with equal labels, seed and n_boot drew the same
            clusters in the same order, which :func:`extrapolate_threshold_width` uses to pair them.
    """

    law: str
    exponent: float
    ci_low: float
    ci_high: float
    confidence: float
    prefactor: float
    r2: float
    n_points: int
    n_x: int
    n_groups: int
    conclusive: bool
    reason: str
    rss: float = math.nan
    x_min: float = math.nan
    x_max: float = math.nan
    n_boot: int = 0
    n_boot_valid: int = 0
    seed: int = 0
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)
    group_labels: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def growth_factor(self) -> float:
        """Factor the metric changes by per unit of x (exponential: e^c) or per doubling (power: 2^b)."""
        if self.law == "exponential":
            return math.exp(self.exponent)
        return 2.0**self.exponent

    def predict(self, x: float | np.ndarray) -> float | np.ndarray:
        """The fitted law evaluated at ``x``, in the units of the metric."""
        x = np.asarray(x, dtype=float)
        if self.law == "exponential":
            out = self.prefactor * np.exp(self.exponent * x)
        else:
            out = self.prefactor * np.power(x, self.exponent)
        return float(out) if out.ndim == 0 else out

    @classmethod
    def known(cls, prefactor: float, exponent: float, *, law: str = "power") -> ScalingFit:
        """An exactly known law (no data, no uncertainty), e.g. the theory's reference ``c / sqrt(m)``.

        Returns a conclusive fit whose CI is the exponent itself and whose ``draws`` is None, so
        that :func:`extrapolate_threshold_width` treats it as a fixed line.
        """
        _check_law(law)
        if not (math.isfinite(prefactor) and prefactor > 0):
            raise InvalidArgumentError("prefactor", prefactor, "a finite number > 0")
        if not math.isfinite(exponent):
            raise InvalidArgumentError("exponent", exponent, "a finite number")
        return cls(
            law=law,
            exponent=float(exponent),
            ci_low=float(exponent),
            ci_high=float(exponent),
            confidence=1.0,
            prefactor=float(prefactor),
            r2=1.0,
            n_points=0,
            n_x=0,
            n_groups=0,
            conclusive=True,
            reason="",
            rss=0.0,
            x_min=-math.inf if law == "exponential" else 0.0,
            x_max=math.inf,
        )


@dataclass(frozen=True)
class DepthModelChoice:
    """Which law describes a metric's dependence on depth L better: power (L^b) or exponential (e^{c L}).

    Attributes:
        power: the log-log fit (log y on log L).
        exponential: the semi-log fit (log y on L).
        preferred: "power", "exponential" or "inconclusive".
        criterion: how the choice was made, in words, with the threshold used and, when
            inconclusive, why.
        delta: AIC(power) - AIC(exponential) = n log(RSS_power / RSS_exponential) over the n
            observations (dimensionless; > 0 favours exponential, < 0 favours power); nan when
            either fit could not be made.
    """

    power: ScalingFit
    exponential: ScalingFit
    preferred: str
    criterion: str
    delta: float

    @property
    def per_layer_factor(self) -> float:
        """e^c of the exponential fit: the factor by which the metric changes per added layer."""
        return self.exponential.growth_factor


def _check_law(law: str) -> None:
    if law not in _LAWS:
        raise InvalidArgumentError("law", law, f"one of {_LAWS}")


def fit_scaling(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    law: str = "power",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    min_x: int = 3,
    min_groups: int = 2,
    interval: str = "expanded",
) -> ScalingFit:
    """Fit a scaling law to (x, y) by least squares in log space, with a cluster-bootstrap CI.

    Args:
        x: the scale variable of each observation (width m for a power law, so > 0; depth L or
            any finite number for an exponential law).
        y: the metric of each observation; every value must be finite and > 0 (refused otherwise,
            never dropped).
        groups: resampling unit of each observation (seed, or seed x probe); None resamples
            observations.
        law: "power" (log y on log x) or "exponential" (log y on x).
        confidence: nominal coverage of the interval, in (0, 1).
        n_boot: number of bootstrap resamples.
        seed: seed of the numpy Generator behind every random draw.
        min_x: fewer distinct x values than this make the fit inconclusive (>= 2).
        min_groups: fewer resampling units than this make the fit inconclusive (>= 2).
        interval: "expanded" (default; small-cluster correction, see the module docstring) or
            "percentile".

    Returns:
        A :class:`ScalingFit`. It is inconclusive (``conclusive=False``, with a ``reason``) when
        there are fewer than ``min_x`` distinct x values or ``min_groups`` units, when more than
        10% of the bootstrap resamples are degenerate (fewer than 2 distinct x; they are skipped),
        or when the fit or its interval is not finite.

    Raises:
        InvalidArgumentError: naming ``x``, ``y``, ``groups``, ``law``, ``confidence``,
            ``n_boot``, ``seed``, ``min_x``, ``min_groups`` or ``interval``.
    """
    _check_law(law)
    check_confidence(confidence)
    require_integer("n_boot", n_boot, 1)
    require_integer("seed", seed, 0)
    require_integer("min_x", min_x, 2)
    require_integer("min_groups", min_groups, 2)
    if interval not in INTERVALS:
        raise InvalidArgumentError("interval", interval, f"one of {INTERVALS}")
    xa = as_vector("x", x)
    ya = as_vector("y", y)
    if xa.shape != ya.shape:
        raise InvalidArgumentError("y", f"{ya.shape[0]} values", f"as many values as x ({xa.shape[0]})")
    if xa.size == 0:
        raise InvalidArgumentError("x", "no values", "at least one observation")
    if not np.all(np.isfinite(xa)):
        raise InvalidArgumentError("x", xa[~np.isfinite(xa)][0], "finite numbers")
    if law == "power" and not np.all(xa > 0):
        raise InvalidArgumentError("x", xa[xa <= 0][0], "numbers > 0 for a power law (fitted in log x)")
    bad_y = ~(np.isfinite(ya) & (ya > 0))
    if np.any(bad_y):
        raise InvalidArgumentError(
            "y",
            ya[bad_y][0],
            f"finite numbers > 0 ({int(bad_y.sum())} of {ya.size} are not); filter them first",
        )
    unit, labels = group_index(groups, xa.size)

    t = np.log(xa) if law == "power" else xa.copy()
    z = np.log(ya)
    n_points = int(xa.size)
    n_x = int(np.unique(xa).size)
    n_units = int(unit.max()) + 1
    reasons: list[str] = []
    if n_x < min_x:
        reasons.append(f"{n_x} distinct x values < min_x={min_x}")
    if n_units < min_groups:
        what = "groups" if labels is not None else "observations"
        reasons.append(f"{n_units} {what} < min_groups={min_groups}")

    intercept, slope, rss = ols_line(t, z)
    zc = z - z.mean()
    tss = float(zc @ zc)
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    rng = np.random.default_rng(seed)
    if math.isfinite(slope):
        draws = bootstrap_lines(t, z, unit, n_units, n_boot, rng)
    else:
        draws = np.full((n_boot, 2), np.nan)
        reasons.append("fewer than 2 distinct x values: no line can be fitted")
    valid = np.isfinite(draws).all(axis=1)
    n_valid = int(valid.sum())
    skipped = n_boot - n_valid
    if math.isfinite(slope) and skipped > _MAX_SKIPPED_FRACTION * n_boot:
        reasons.append(f"{skipped} of {n_boot} bootstrap resamples degenerate (< 2 distinct x)")
    if n_valid > 0:
        lo_q, hi_q = alpha_levels(confidence, n_units, interval)
        ci_low, ci_high = (float(v) for v in np.quantile(draws[valid, 1], [lo_q, hi_q]))
    else:
        ci_low = ci_high = math.nan
    prefactor = math.exp(intercept) if math.isfinite(intercept) else math.nan
    if math.isfinite(slope) and not all(math.isfinite(v) for v in (prefactor, ci_low, ci_high)):
        reasons.append("non-finite fit or interval")

    return ScalingFit(
        law=law,
        exponent=slope,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=float(confidence),
        prefactor=prefactor,
        r2=r2,
        n_points=n_points,
        n_x=n_x,
        n_groups=n_units,
        conclusive=not reasons,
        reason="; ".join(reasons),
        rss=rss,
        x_min=float(xa.min()),
        x_max=float(xa.max()),
        n_boot=int(n_boot),
        n_boot_valid=n_valid,
        seed=int(seed),
        draws=draws,
        group_labels=labels,
    )


# ----------------------------------------------------------------------------------------------
# depth: power versus exponential


def compare_depth_laws(
    depth: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    aic_threshold: float = 2.0,
    min_depths: int = 4,
    **fit_kwargs: Any,
) -> DepthModelChoice:
    """Choose between polynomial (log y on log L) and exponential (log y on L) growth in depth L.

    Both candidates are straight lines for log y with two parameters, fitted to the same
    observations, so their Gaussian AICs differ only through the residual sums of squares:
    ``delta = AIC_power - AIC_exp = n log(RSS_power / RSS_exp)`` with n the number of
    observations. A law is preferred only when ``|delta| > aic_threshold`` (default 2, the usual
    "positive evidence" level), and only when its slope CI excludes 0 (no detectable trend means
    there is no growth law to choose). Otherwise, or with fewer than ``min_depths`` distinct
    depths, or when either fit is inconclusive, the answer is "inconclusive". The AIC treats the
    observations as independent; with strongly clustered repeats it overstates the evidence,
    which the CI requirement partly guards against.

    Args:
        depth: number of hidden layers L of each observation (> 0).
        y: the metric (finite, > 0).
        groups: resampling unit of each observation, passed to :func:`fit_scaling`.
        aic_threshold: decisive |delta| (> 0).
        min_depths: fewer distinct depths than this give "inconclusive" (>= 3).
        **fit_kwargs: passed to :func:`fit_scaling` (confidence, n_boot, seed, min_x, ...; not law).

    Returns:
        A :class:`DepthModelChoice` holding both fits (their ``exponent`` is b per log L and c
        per layer), the preferred law and ``delta``.
    """
    if "law" in fit_kwargs:
        raise InvalidArgumentError("law", fit_kwargs["law"], "not given: both laws are fitted")
    if not (isinstance(aic_threshold, int | float) and aic_threshold > 0 and math.isfinite(aic_threshold)):
        raise InvalidArgumentError("aic_threshold", aic_threshold, "a finite number > 0")
    require_integer("min_depths", min_depths, 3)
    power = fit_scaling(depth, y, groups, law="power", **fit_kwargs)
    expo = fit_scaling(depth, y, groups, law="exponential", **fit_kwargs)
    rule = f"Gaussian AIC on log y (2 parameters each): decisive iff |delta| > {aic_threshold:g}"

    if math.isfinite(power.rss) and math.isfinite(expo.rss):
        tiny = np.finfo(float).tiny
        delta = power.n_points * math.log(max(power.rss, tiny) / max(expo.rss, tiny))
    else:
        delta = math.nan
    why: list[str] = []
    if power.n_x < min_depths:
        why.append(f"{power.n_x} distinct depths < {min_depths}")
    for fit in (power, expo):
        if not fit.conclusive:
            why.append(f"{fit.law} fit inconclusive ({fit.reason})")
    if not why:
        if not abs(delta) > aic_threshold:
            why.append(f"|delta| = {abs(delta):.3g} <= {aic_threshold:g}")
        else:
            winner = expo if delta > 0 else power
            if winner.ci_low <= 0 <= winner.ci_high:
                why.append(f"the {winner.law} slope's CI contains 0: no detectable trend in depth")
    if why:
        return DepthModelChoice(power, expo, "inconclusive", f"{rule}; inconclusive: {'; '.join(why)}", delta)
    preferred = "exponential" if delta > 0 else "power"
    return DepthModelChoice(power, expo, preferred, rule, delta)
