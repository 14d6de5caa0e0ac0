"""The secant check of restricted strong convexity at a finite radius (Q7).

The finite-radius secant curvature 2 [L(theta') - L - <theta' - theta, grad L>] / ||theta' - theta||^2
sampled inside the cone |cos(theta' - theta, g)| >= kappa and, as the control, outside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.cone import check_kappa
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.krylov import inner_product
from rscbench.measure.params import ScalarFn

__all__ = ["SecantCheck", "check_radius", "secant_check"]


def check_radius(rho2: float) -> None:
    """Raise InvalidArgumentError unless rho2 is a finite number > 0 (the restricted ball's radius)."""
    if isinstance(rho2, bool) or not (isinstance(rho2, (int, float)) and math.isfinite(rho2) and rho2 > 0):
        raise InvalidArgumentError("rho2", rho2, "a finite number > 0")


@dataclass(frozen=True)
class SecantCheck:
    """Secant curvature 2 [L(theta') - L - <theta' - theta, grad L>] / ||theta' - theta||^2 (Q7).

    ``min_inside``/``fraction_nonpositive_inside`` over directions in the cone |cos| >= kappa;
    the ``_outside`` fields over directions with |cos| < kappa (the control). Loss units per
    squared parameter unit; larger is better.
    """

    min_inside: float
    fraction_nonpositive_inside: float
    min_outside: float
    fraction_nonpositive_outside: float
    n_samples: int


def secant_check(
    loss_fn: ScalarFn,
    params: Mapping[str, Tensor],
    direction: Mapping[str, Tensor],
    *,
    kappa: float = 0.5,
    rho2: float = 1.0,
    n_samples: int = 32,
    seed: int = 0,
) -> SecantCheck:
    """Sample n_samples directions inside and n_samples outside the cone, radii uniform in (0, rho2].

    A direction with |cos| = c is c u_g + sqrt(1 - c^2) w, w a uniform unit vector orthogonal to u_g;
    inside, c is uniform in [kappa, 1] with a random sign, outside uniform in [0, kappa). Every
    draw comes from a torch.Generator seeded with ``seed``. Costs 2 n_samples loss evaluations.
    """
    check_kappa(kappa)
    check_radius(rho2)
    require_integer("n_samples", n_samples, 1)
    operator = HessianOperator(loss_fn, params, "double_backward")
    layout = operator.layout
    theta = layout.flatten(dict(params))
    gradient = operator.gradient()
    axis = layout.flatten(dict(direction)).to(theta.dtype)
    axis = axis / axis.double().norm().to(axis.dtype)
    base = float(loss_fn(dict(params)))
    generator = torch.Generator().manual_seed(seed)

    def sample(low: float, high: float) -> list[float]:
        values = []
        for _ in range(n_samples):
            w = torch.randn(layout.dim, generator=generator, dtype=torch.float64).to(theta)
            w = w - (w * axis).sum() * axis
            w = w / w.norm()
            cosine = low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))
            sign = 1.0 if float(torch.rand((), generator=generator)) < 0.5 else -1.0
            radius = rho2 * (1.0 - float(torch.rand((), generator=generator, dtype=torch.float64)))
            step = radius * (sign * cosine * axis + math.sqrt(max(0.0, 1 - cosine**2)) * w)
            moved = float(loss_fn(layout.unflatten(theta + step)))
            linear = float(inner_product(step, gradient))
            values.append(2 * (moved - base - linear) / float(inner_product(step, step)))
        return values

    inside, outside = sample(kappa, 1.0), sample(0.0, kappa)
    return SecantCheck(
        min_inside=min(inside),
        fraction_nonpositive_inside=sum(v <= 0 for v in inside) / n_samples,
        min_outside=min(outside),
        fraction_nonpositive_outside=sum(v <= 0 for v in outside) / n_samples,
        n_samples=n_samples,
    )
