"""Offline, deterministic datasets; inputs are normalized to ||x||_2 = sqrt(d) (DESIGN section 5)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError
from rscbench.models import paper_mlp

__all__ = ["SPHERE_TARGETS", "normalize_to_sphere", "sphere"]

SPHERE_TARGETS = ("teacher", "random_labels")


def normalize_to_sphere(X: Tensor) -> Tensor:
    """Rescale every row of X to Euclidean norm sqrt(d) (d = X.shape[1]); zero rows are refused."""
    norms = X.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        raise InvalidArgumentError(
            "X", "a zero row", "rows with non-zero norm (they are rescaled to sqrt(d))"
        )
    return X * math.sqrt(X.shape[1]) / norms


def sphere(
    n: int, d: int, *, seed: int = 0, targets: str = "teacher", dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """n Gaussian inputs projected onto the sqrt(d)-sphere, with targets.

    ``targets="teacher"``: y = g(x) for a random teacher network (paper_mlp of width 64, depth 1,
    tanh, sigma1 = 1, seeded from ``seed + 1``), scaled to unit standard deviation.
    ``targets="random_labels"``: y uniform in {-1, +1}. All draws come from a generator seeded with
    ``seed``; the same arguments give the same tensors.
    """
    for name, value in (("n", n), ("d", d)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(name, value, "an integer >= 1")
    if targets not in SPHERE_TARGETS:
        raise InvalidArgumentError("targets", targets, "one of " + ", ".join(SPHERE_TARGETS))
    generator = torch.Generator().manual_seed(seed)
    X = normalize_to_sphere(torch.randn(n, d, generator=generator, dtype=torch.float64))
    if targets == "teacher":
        teacher = paper_mlp(d, 64, 1, "tanh", 1.0, seed=seed + 1).double()
        with torch.no_grad():
            y = teacher(X)
        y = y / y.std() if n > 1 else y
    else:
        y = torch.where(torch.rand(n, generator=generator, dtype=torch.float64) < 0.5, -1.0, 1.0)
    return X.to(dtype), y.to(dtype)
