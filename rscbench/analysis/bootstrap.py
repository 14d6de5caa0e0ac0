"""The cluster bootstrap behind every confidence interval: least-squares lines refitted on resampled
groups (seeds, or seed x probe pairs), and the CI of a scalar statistic.

Whole groups are drawn with replacement and the statistic (or line) is recomputed on the union of
their observations. Percentile intervals from few clusters are too narrow, so the default
``interval="expanded"`` reads the percentiles at a widened level (see :func:`alpha_levels` and the
module docstring of rscbench.analysis.fits). Every draw comes from one numpy Generator seeded by the
caller, so a call is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats as _sps

from rscbench.errors import InvalidArgumentError, require_integer

__all__ = [
    "INTERVALS",
    "alpha_levels",
    "as_vector",
    "bootstrap_ci",
    "bootstrap_lines",
    "check_confidence",
    "group_index",
    "ols_line",
]

INTERVALS = ("expanded", "percentile")
# Upper bound on the number of (draw x unit) cells materialised at once by the bootstrap.
_CHUNK_CELLS = 4_000_000


def check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, int | float) and 0.0 < confidence < 1.0):
        raise InvalidArgumentError("confidence", confidence, "a number strictly between 0 and 1")


def as_vector(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(name, values, "a 1-D sequence of real numbers") from err
    if arr.ndim != 1:
        raise InvalidArgumentError(name, f"array of shape {arr.shape}", "a 1-D sequence of real numbers")
    return arr


def group_index(groups: Any, n: int) -> tuple[np.ndarray, tuple[Any, ...] | None]:
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


def alpha_levels(confidence: float, n_units: int, interval: str) -> tuple[float, float]:
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


def ols_line(t: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """OLS of z on (1, t): (intercept, slope, rss); nan when t has fewer than 2 distinct values."""
    tc = t - t.mean()
    stt = float(tc @ tc)
    if not stt > 0:
        return math.nan, math.nan, math.nan
    slope = float(tc @ (z - z.mean())) / stt
    intercept = float(z.mean() - slope * t.mean())
    resid = z - intercept - slope * t
    return intercept, slope, float(resid @ resid)


def bootstrap_lines(
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
    check_confidence(confidence)
    require_integer("n_boot", n_boot, 1)
    require_integer("seed", seed, 0)
    v = as_vector("values", values)
    if v.size == 0:
        raise InvalidArgumentError("values", "no values", "at least one value")
    if not np.all(np.isfinite(v)):
        raise InvalidArgumentError("values", v[~np.isfinite(v)][0], "finite numbers")
    unit, _ = group_index(groups, v.size)
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
