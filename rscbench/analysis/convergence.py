"""What a GD loss curve says (V5): a two-phase fit of log L_t and the PL/NTK descent bound on L itself.

GD on the paper's network typically drops the loss ~100x in a few steps and then decays geometrically.
One line through the whole of log L_t misreads that shape (R^2 0.7-0.8 on geometric tails), so V5
fits two lines: an early segment t < k and a late segment t >= k, each an ordinary least-squares line
of log L_t on t, with the breakpoint k chosen to minimise their total residual sum of squares. Each
segment holds at least MIN_SEGMENT points and the late one at least LATE_FRACTION of the curve, so a
"tail" is a substantial part of the run and not its last few steps. A segment's rate is exp(slope), a
per-step loss factor.

The reference rate that bounds L itself: with a step eta = omega / beta, where beta bounds the loss
curvature along the step, the descent lemma gives L_{t+1} <= L_t - omega (2 - omega) ||grad L_t||^2 /
(2 beta), and the NTK's PL inequality ||grad L||^2 >= mu L with mu = 4 lambda_min(K) / n (square loss
without 1/2) turns it into L_{t+1} / L_t <= 1 - omega (2 - omega) mu / (2 beta) (= 1 - mu / (2 beta)
at omega = 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rscbench.analysis.bootstrap import as_vector, ols_line

__all__ = ["LATE_FRACTION", "MIN_SEGMENT", "TwoPhaseFit", "pl_descent_rate", "two_phase_fit"]

MIN_SEGMENT = 3
LATE_FRACTION = 0.25


@dataclass(frozen=True)
class TwoPhaseFit:
    """Two least-squares lines through log L_t: t < ``breakpoint`` and t >= ``breakpoint``.

    ``early_rate``/``late_rate`` are exp(slope) (per-step loss factors), ``early_r2``/``late_r2`` each
    segment's own R^2 (nan when its log-loss is constant), ``late_points`` the late segment's length.
    ``fitted`` is False (rates nan, ``reason`` says why) when the curve is too short or not positive.
    """

    fitted: bool
    breakpoint: int
    early_rate: float
    late_rate: float
    early_r2: float
    late_r2: float
    late_points: int
    reason: str = ""


def _r2(t: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """(slope, rss, r2) of the OLS line of z on t."""
    _, slope, rss = ols_line(t, z)
    spread = float(((z - z.mean()) ** 2).sum())
    return slope, rss, (1.0 - rss / spread if spread > 0 else math.nan)


def two_phase_fit(losses: Sequence[float] | np.ndarray) -> TwoPhaseFit:
    """Fit log L_t (t = 0, 1, ...) with two lines and a least-squares breakpoint (module docstring).

    ``losses`` are the loss at consecutive GD steps (loss units; finite and > 0 to be fitted).
    """
    values = as_vector("losses", losses)
    size = values.size
    late_min = max(MIN_SEGMENT, math.ceil(LATE_FRACTION * size))
    empty = TwoPhaseFit(False, 0, math.nan, math.nan, math.nan, math.nan, 0)
    if not np.all(np.isfinite(values) & (values > 0)):
        return TwoPhaseFit(**(vars(empty) | {"reason": "a loss is not finite and > 0"}))
    if size < MIN_SEGMENT + late_min:
        return TwoPhaseFit(**(vars(empty) | {"reason": f"{size} steps: too short for two segments"}))
    t = np.arange(size, dtype=np.float64)
    z = np.log(values)
    best = None
    for k in range(MIN_SEGMENT, size - late_min + 1):
        total = ols_line(t[:k], z[:k])[2] + ols_line(t[k:], z[k:])[2]
        if best is None or total < best[0]:
            best = (total, k)
    k = best[1]
    early_slope, _, early_r2 = _r2(t[:k], z[:k])
    late_slope, _, late_r2 = _r2(t[k:], z[k:])
    return TwoPhaseFit(True, k, math.exp(early_slope), math.exp(late_slope), early_r2, late_r2, size - k)


def pl_descent_rate(mu: float, beta: float, omega: float) -> float:
    """1 - omega (2 - omega) mu / (2 beta): the per-step bound on L_{t+1} / L_t from the descent lemma
    and the PL inequality (mu, beta in loss/param^2; omega in (0, 2)); nan when either is not finite
    and > 0."""
    if not (math.isfinite(mu) and math.isfinite(beta) and mu > 0 and beta > 0):
        return math.nan
    return 1.0 - omega * (2.0 - omega) * mu / (2.0 * beta)
