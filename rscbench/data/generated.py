"""Generated datasets: Gaussian inputs on the sphere (teacher or random targets) and procedural 1-D digits."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from rscbench.data.dataset import Dataset, class_targets, normalize_to_sphere
from rscbench.models.paper_net import paper_mlp

__all__ = ["MNIST1D_TEMPLATES", "generate_mnist1d", "generate_sphere"]

# Ten hand-written 1-D patterns (knot values, linearly interpolated between equally spaced knots),
# one per mnist1d class.
MNIST1D_TEMPLATES: tuple[tuple[float, ...], ...] = (
    (0.0, 1.0, 1.0, 0.0, -1.0, -1.0, 0.0, 0.0),
    (0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0),
    (1.0, 0.5, 0.0, -0.5, -1.0, -0.5, 0.0, 1.0),
    (0.0, 1.0, 0.0, -0.5, 0.0, 1.0, 0.0, 0.0),
    (-1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 0.5, 0.5),
    (0.0, -1.0, -1.0, 0.5, 1.0, 0.0, -0.5, 0.0),
    (1.0, 0.0, -1.0, 0.0, 1.0, 0.0, -1.0, 0.0),
    (-1.0, -0.5, 0.0, 0.5, 1.0, 1.0, -1.0, 0.0),
    (0.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 0.0),
    (0.0, 0.0, -1.0, -1.0, 0.0, 1.0, 1.0, 1.0),
)


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


def _interpolate_knots(knots: Tensor, u: Tensor) -> Tensor:
    """Piecewise-linear curves through equally spaced knots on [0, 1], evaluated at u, 0 outside.

    knots: (n, K) one curve per row; u: (n, B) positions. Returns (n, B).
    """
    K = knots.shape[1]
    position = u.clamp(0.0, 1.0) * (K - 1)
    left = position.floor().clamp(max=K - 2).to(torch.int64)
    fraction = position - left
    values = knots.gather(1, left) * (1 - fraction) + knots.gather(1, left + 1) * fraction
    return torch.where((u >= 0) & (u <= 1), values, torch.zeros_like(values))


_MNIST1D_BASE_LENGTH = 64  # points the sample is built on before resampling to d
_MNIST1D_WIDTH = 0.5  # fraction of the signal the unscaled template spans (the rest is padding)
_MNIST1D_SCALE = (0.75, 1.25)  # horizontal scaling factor range
_MNIST1D_SHIFT = 0.2  # centre shift, uniform in +-this fraction of the signal
_MNIST1D_SHEAR = 0.75  # slope of the added linear ramp, uniform in +-this over the signal
_MNIST1D_SMOOTH_NOISE = 0.25  # standard deviation of the correlated noise
_MNIST1D_SMOOTH_WIDTH = 2.0  # its Gaussian smoothing length, in base points
_MNIST1D_WHITE_NOISE = 0.1  # standard deviation of the white noise added after resampling


def generate_mnist1d(n: int, d: int, seed: int, targets: str) -> Dataset:
    """Procedural 1-D digits; the idea (templates under random transforms) is Greydanus' MNIST-1D
    (S. Greydanus, "Scaling down deep learning", 2020); templates and constants here are our own."""
    generator = torch.Generator().manual_seed(seed)
    k = len(MNIST1D_TEMPLATES)
    classes = (torch.arange(n) % k)[torch.randperm(n, generator=generator)]
    scale = torch.empty(n, 1, dtype=torch.float64).uniform_(*_MNIST1D_SCALE, generator=generator)
    shift = torch.empty(n, 1, dtype=torch.float64).uniform_(
        -_MNIST1D_SHIFT, _MNIST1D_SHIFT, generator=generator
    )
    shear = torch.empty(n, 1, dtype=torch.float64).uniform_(
        -_MNIST1D_SHEAR, _MNIST1D_SHEAR, generator=generator
    )
    base = _MNIST1D_BASE_LENGTH
    s = torch.linspace(0.0, 1.0, base, dtype=torch.float64).expand(n, base)
    u = (s - 0.5 - shift) / (_MNIST1D_WIDTH * scale) + 0.5
    knots = torch.tensor(MNIST1D_TEMPLATES, dtype=torch.float64)[classes]
    signal = _interpolate_knots(knots, u) + shear * (s - 0.5)
    radius = math.ceil(3 * _MNIST1D_SMOOTH_WIDTH)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / _MNIST1D_SMOOTH_WIDTH) ** 2)
    kernel = kernel / kernel.norm()  # unit-variance white noise stays unit variance
    white = torch.randn(n, 1, base + 2 * radius, generator=generator, dtype=torch.float64)
    signal = signal + _MNIST1D_SMOOTH_NOISE * F.conv1d(white, kernel.view(1, 1, -1)).squeeze(1)
    resampled = F.interpolate(signal.unsqueeze(1), size=d, mode="linear", align_corners=True).squeeze(1)
    X = resampled + _MNIST1D_WHITE_NOISE * torch.randn(n, d, generator=generator, dtype=torch.float64)
    if targets == "random_labels":
        classes = torch.randint(k, (n,), generator=generator)
    views = class_targets(classes, k, targets)
    return Dataset(
        name="mnist1d",
        X=normalize_to_sphere(X),
        y=views.y,
        binary=views.binary,
        labels=views.labels,
        n_classes=k,
        targets=targets,
        target_rule=views.rule,
        normalization={
            "rows_to_norm": "sqrt(d)",
            "feature_standardization": None,
            "generator": {
                "base_length": base,
                "template_width": _MNIST1D_WIDTH,
                "scale": list(_MNIST1D_SCALE),
                "shift": _MNIST1D_SHIFT,
                "shear": _MNIST1D_SHEAR,
                "smooth_noise": _MNIST1D_SMOOTH_NOISE,
                "smooth_width": _MNIST1D_SMOOTH_WIDTH,
                "white_noise": _MNIST1D_WHITE_NOISE,
            },
        },
    )
