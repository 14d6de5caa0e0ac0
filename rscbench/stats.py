"""Statistics for the verdicts: scaling-law fits with cluster-bootstrap CIs, depth-law choice, crossings.

Everything here is plain numpy on floats; nothing touches torch. The conventions the verdicts (DESIGN
section 4) rely on:

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as _sps

from rscbench.errors import InvalidArgumentError, require_integer

__all__ = [
    "DepthModelChoice",
    "ScalingFit",
    "ThresholdWidth",
    "bootstrap_ci",
    "compare_depth_laws",
    "extrapolate_threshold_width",
    "fit_scaling",
]

_LAWS = ("power", "exponential")
_INTERVALS = ("expanded", "percentile")
# A bootstrap whose share of degenerate (unfittable) resamples exceeds this is inconclusive.
_MAX_SKIPPED_FRACTION = 0.10
# Upper bound on the number of (draw x unit) cells materialised at once by the bootstrap.
_CHUNK_CELLS = 4_000_000


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
    """

    m_star: float
    ci_low: float
    ci_high: float
    confidence: float
    conclusive: bool
    reason: str
    extrapolated: bool
    paired: bool

    def __iter__(self) -> Iterator[float]:
        """Yield ``m_star, ci_low, ci_high`` so that the result unpacks like a 3-tuple."""
        return iter((self.m_star, self.ci_low, self.ci_high))


# ----------------------------------------------------------------------------------------------
# argument checks


def _check_law(law: str) -> None:
    if law not in _LAWS:
        raise InvalidArgumentError("law", law, f"one of {_LAWS}")


def _check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, int | float) and 0.0 < confidence < 1.0):
        raise InvalidArgumentError("confidence", confidence, "a number strictly between 0 and 1")


def _as_vector(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(name, values, "a 1-D sequence of real numbers") from err
    if arr.ndim != 1:
        raise InvalidArgumentError(name, f"array of shape {arr.shape}", "a 1-D sequence of real numbers")
    return arr


def _group_index(groups: Any, n: int) -> tuple[np.ndarray, tuple[Any, ...] | None]:
    """Integer unit index of each observation and the sorted distinct labels (None: one unit each).

    A label may be any hashable, sortable value; a tuple (or a row of a 2-D array) such as
    ``(seed, probe)`` is one label.
    """
    if groups is None:
        return np.arange(n), None
    items = groups.tolist() if isinstance(groups, np.ndarray) else list(groups)
    items = [tuple(v) if isinstance(v, list | np.ndarray) else v for v in items]
    if len(items) != n:
        raise InvalidArgumentError("groups", f"{len(items)} labels", f"one label per observation ({n})")
    try:
        labels = tuple(sorted(set(items)))
    except TypeError as err:
        raise InvalidArgumentError(
            "groups", "unorderable labels", "hashable labels of one comparable type"
        ) from err
    code = {label: i for i, label in enumerate(labels)}
    return np.fromiter((code[v] for v in items), dtype=np.intp, count=n), labels


def _alpha_levels(confidence: float, n_units: int, interval: str) -> tuple[float, float]:
    """Lower and upper quantile levels of the bootstrap distribution for the requested interval."""
    alpha = 1.0 - confidence
    if interval == "expanded" and n_units >= 2:
        t = _sps.t.ppf(1.0 - alpha / 2.0, df=n_units - 1)
        z = math.sqrt(n_units / (n_units - 1)) * t
        half = float(_sps.norm.sf(z))
    else:
        half = alpha / 2.0
    return half, 1.0 - half


# ----------------------------------------------------------------------------------------------
# core least squares and cluster bootstrap


def _line(t: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """OLS of z on (1, t): (intercept, slope, rss); nan when t has fewer than 2 distinct values."""
    tc = t - t.mean()
    stt = float(tc @ tc)
    if not stt > 0:
        return math.nan, math.nan, math.nan
    slope = float(tc @ (z - z.mean())) / stt
    intercept = float(z.mean() - slope * t.mean())
    resid = z - intercept - slope * t
    return intercept, slope, float(resid @ resid)


def _bootstrap_lines(
    t: np.ndarray, z: np.ndarray, unit: np.ndarray, n_units: int, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Cluster-bootstrap refits: array (n_boot, 2) of (intercept, slope); nan rows for degenerate draws.

    Each draw picks ``n_units`` units with replacement. The refit uses per-unit sufficient
    statistics of centred (t, z), so a draw costs O(n_units) instead of O(n_points).
    """
    t0, z0 = float(t.mean()), float(z.mean())
    tc, zc = t - t0, z - z0
    suff = np.zeros((n_units, 5))
    np.add.at(suff, unit, np.column_stack([np.ones_like(tc), tc, zc, tc * tc, tc * zc]))
    x_codes = np.unique(t, return_inverse=True)[1].reshape(-1)
    presence = np.zeros((n_units, int(x_codes.max()) + 1))
    presence[unit, x_codes] = 1.0
    scale = float(tc @ tc) / max(len(t), 1)

    out = np.full((n_boot, 2), np.nan)
    chunk = max(1, _CHUNK_CELLS // n_units)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        m = stop - start
        picks = rng.integers(0, n_units, size=(m, n_units))
        flat = (picks + n_units * np.arange(m)[:, None]).ravel()
        counts = np.bincount(flat, minlength=m * n_units).reshape(m, n_units).astype(float)
        n, st, sz, stt, stz = (counts @ suff).T
        distinct_x = ((counts > 0).astype(float) @ presence > 0).sum(axis=1)
        den = stt - st * st / n
        ok = (distinct_x >= 2) & (den > 1e-12 * scale * n)
        slope = np.where(ok, (stz - st * sz / np.where(ok, n, 1.0)) / np.where(ok, den, 1.0), np.nan)
        intercept_c = (sz - slope * st) / n
        out[start:stop, 0] = np.where(ok, intercept_c + z0 - slope * t0, np.nan)
        out[start:stop, 1] = slope
    return out


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
    _check_confidence(confidence)
    require_integer("n_boot", n_boot, 1)
    require_integer("seed", seed, 0)
    require_integer("min_x", min_x, 2)
    require_integer("min_groups", min_groups, 2)
    if interval not in _INTERVALS:
        raise InvalidArgumentError("interval", interval, f"one of {_INTERVALS}")
    xa = _as_vector("x", x)
    ya = _as_vector("y", y)
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
    unit, labels = _group_index(groups, xa.size)

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

    intercept, slope, rss = _line(t, z)
    zc = z - z.mean()
    tss = float(zc @ zc)
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    rng = np.random.default_rng(seed)
    if math.isfinite(slope):
        draws = _bootstrap_lines(t, z, unit, n_units, n_boot, rng)
    else:
        draws = np.full((n_boot, 2), np.nan)
        reasons.append("fewer than 2 distinct x values: no line can be fitted")
    valid = np.isfinite(draws).all(axis=1)
    n_valid = int(valid.sum())
    skipped = n_boot - n_valid
    if math.isfinite(slope) and skipped > _MAX_SKIPPED_FRACTION * n_boot:
        reasons.append(f"{skipped} of {n_boot} bootstrap resamples degenerate (< 2 distinct x)")
    if n_valid > 0:
        lo_q, hi_q = _alpha_levels(confidence, n_units, interval)
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


# ----------------------------------------------------------------------------------------------
# scalar statistic


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    statistic: Callable[[np.ndarray], float] = np.mean,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Estimate a scalar statistic and its percentile bootstrap interval.

    With ``groups``, whole groups are resampled with replacement (cluster bootstrap) and the
    statistic is computed on the concatenation of their values; otherwise values are resampled.
    The interval is the plain percentile interval at ``confidence`` (resamples where the statistic
    is not finite are skipped).

    For a fraction (``values`` in {0, 1}, ``statistic=np.mean``) the estimate is the observed
    fraction. When every value is equal (all 0 or all 1) the percentile interval collapses to the
    estimate: it is then no statement of precision, only of the sample.

    Returns:
        ``(estimate, low, high)`` in the units of the statistic; ``low`` and ``high`` are nan when
        fewer than 2 resampling units exist (a bootstrap of one unit says nothing).

    Raises:
        InvalidArgumentError: naming ``values``, ``groups``, ``confidence``, ``n_boot`` or ``seed``.
    """
    _check_confidence(confidence)
    require_integer("n_boot", n_boot, 1)
    require_integer("seed", seed, 0)
    v = _as_vector("values", values)
    if v.size == 0:
        raise InvalidArgumentError("values", "no values", "at least one value")
    if not np.all(np.isfinite(v)):
        raise InvalidArgumentError("values", v[~np.isfinite(v)][0], "finite numbers")
    unit, _ = _group_index(groups, v.size)
    estimate = float(statistic(v))
    n_units = int(unit.max()) + 1
    if n_units < 2:
        return estimate, math.nan, math.nan
    order = np.argsort(unit, kind="stable")
    members = np.split(order, np.cumsum(np.bincount(unit, minlength=n_units))[:-1])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_units, size=(n_boot, n_units))
    stats = np.empty(n_boot)
    for i, row in enumerate(picks):
        stats[i] = statistic(v[np.concatenate([members[j] for j in row])])
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return estimate, math.nan, math.nan
    alpha = 1.0 - confidence
    low, high = np.quantile(stats, [alpha / 2.0, 1.0 - alpha / 2.0])
    return estimate, float(low), float(high)


# ----------------------------------------------------------------------------------------------
# crossing of two power laws in width


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
    _check_confidence(confidence)
    require_integer("seed", seed, 0)

    def log_c(fit: ScalingFit) -> float:
        return math.log(fit.prefactor) if fit.prefactor > 0 else math.nan

    point = float(_threshold(log_c(fit_lhs), fit_lhs.exponent, log_c(fit_rhs), fit_rhs.exponent))
    m_star = math.exp(point) if not math.isnan(point) else math.nan

    reasons = [f"{name} inconclusive ({fit.reason})" for name, fit in (("lhs", fit_lhs), ("rhs", fit_rhs))]
    reasons = [r for r, fit in zip(reasons, (fit_lhs, fit_rhs), strict=True) if not fit.conclusive]
    d1, d2 = fit_lhs.draws, fit_rhs.draws
    paired = False
    if d1 is None and d2 is None:
        ci_low = ci_high = m_star
    else:
        if d1 is None:
            d1 = np.tile([log_c(fit_lhs), fit_lhs.exponent], (d2.shape[0], 1))
        if d2 is None:
            d2 = np.tile([log_c(fit_rhs), fit_rhs.exponent], (d1.shape[0], 1))
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
        logs = logs[~np.isnan(logs)]
        if logs.size == 0:
            ci_low = ci_high = math.nan
            reasons.append("no usable bootstrap draws")
        else:
            alpha = 1.0 - confidence
            # inverted_cdf picks sample values, never interpolates towards inf
            q = np.quantile(logs, [alpha / 2.0, 1.0 - alpha / 2.0], method="inverted_cdf")
            ci_low, ci_high = (math.exp(v) for v in q)
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
