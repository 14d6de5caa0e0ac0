"""Theorem 5.1's restricted curvature alpha_t for the square loss, evaluated with measured constants (Q8)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rscbench.errors import require_integer
from rscbench.measure.cone import check_kappa

__all__ = ["THEOREM_ALPHA_FORMULA", "TheoremAlpha", "theorem_alpha"]

THEOREM_ALPHA_FORMULA = (
    "alpha_t = 2 kappa^2 ||g_bar_t||^2 - c2 / sqrt(m),  c2 = 2 c_H (2 rho_grad rho2 + sqrt(c_loss)),  "
    "c_H = sqrt(m) max_probe ||nabla^2 f||, rho_grad = max_i ||nabla f(x_i)||, c_loss = L(theta_t)"
)


@dataclass(frozen=True)
class TheoremAlpha:
    """Theorem 5.1's restricted curvature for the square loss, with measured constants (Q8).

    ``alpha_t`` (loss units per squared parameter unit; > 0 means the theorem certifies RSC),
    ``c2``, ``width_threshold`` = (c2 / (2 kappa^2 ||g_bar||^2))^2 (the width above which alpha_t > 0
    if the measured constants stayed fixed; inf when ||g_bar|| = 0) and ``scaled_g_bar_sqnorm`` =
    sqrt(m) ||g_bar||^2, which the theory needs to grow with m. ``formula`` is the text used.
    """

    alpha_t: float
    c2: float
    width_threshold: float
    scaled_g_bar_sqnorm: float
    formula: str = THEOREM_ALPHA_FORMULA

    @property
    def positive(self) -> bool:
        """Whether the theorem's alpha_t is positive at the measured constants."""
        return self.alpha_t > 0


def theorem_alpha(
    *,
    g_bar_sqnorm: float,
    width: int,
    kappa: float,
    c_hessian: float,
    rho_grad: float,
    rho2: float,
    loss_value: float,
) -> TheoremAlpha:
    """Evaluate THEOREM_ALPHA_FORMULA (reconstructed from the paper; the one place to correct it)."""
    check_kappa(kappa)
    require_integer("width", width, 1)
    c2 = 2 * c_hessian * (2 * rho_grad * rho2 + math.sqrt(max(0.0, loss_value)))
    alpha = 2 * kappa**2 * g_bar_sqnorm - c2 / math.sqrt(width)
    threshold = (c2 / (2 * kappa**2 * g_bar_sqnorm)) ** 2 if g_bar_sqnorm > 0 else math.inf
    return TheoremAlpha(alpha, c2, threshold, math.sqrt(width) * g_bar_sqnorm)
