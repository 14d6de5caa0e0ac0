"""Generated datasets: Gaussian inputs on the sphere with teacher or random-label targets."""

from __future__ import annotations

import torch

from rscbench.data.dataset import Dataset, normalize_to_sphere
from rscbench.models.paper_net import paper_mlp

__all__ = ["generate_sphere"]


def generate_sphere(n: int, d: int, seed: int, targets: str) -> Dataset:
    """``sphere``: n Gaussian inputs on the sqrt(d)-sphere with teacher or random-label targets (seeded)."""
    generator = torch.Generator().manual_seed(seed)
    X = normalize_to_sphere(torch.randn(n, d, generator=generator, dtype=torch.float64))
    if targets == "teacher":
        teacher = paper_mlp(d, 64, 1, "tanh", 1.0, seed=seed + 1).double()
        with torch.no_grad():
            y = teacher(X)
        y = y / y.std() if n > 1 else y
        binary = torch.where(y >= 0, 1.0, -1.0).to(torch.float64)
        rule = (
            "y: outputs of a random tanh teacher (paper_mlp width 64, depth 1, sigma1 1, seed + 1) "
            "scaled to unit standard deviation; binary: sign(y) (0 -> +1); labels: binary > 0"
        )
    else:
        y = torch.where(torch.rand(n, generator=generator, dtype=torch.float64) < 0.5, -1.0, 1.0)
        binary = y
        rule = "y = binary: uniform random labels in {-1, +1}; labels: binary > 0"
    return Dataset(
        name="sphere",
        X=X,
        y=y,
        binary=binary,
        labels=(binary > 0).to(torch.int64),
        n_classes=2,
        targets=targets,
        target_rule=rule,
        normalization={"rows_to_norm": "sqrt(d)", "feature_standardization": None},
    )
