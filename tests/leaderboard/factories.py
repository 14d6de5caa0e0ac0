"""Model factories for the leaderboard tests: good ones, and each way a user's factory can be wrong."""

import torch
from torch import nn

from rscbench.models import paper_mlp


class Wrapped(nn.Module):
    """The paper's network behind a wrapper, so every kernel takes its generic (non-PaperMLP) path."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def wrapped_paper_tanh(width: int, depth: int, *, in_dim: int, generator: torch.Generator) -> nn.Module:
    """paper_mlp(tanh, sigma1=1) with the seed drawn from ``generator``: same weights as arch paper_mlp
    when the task seed is the generator's seed, because paper_mlp seeds its own generator with it."""
    return Wrapped(paper_mlp(in_dim, width, depth, "tanh", 1.0, seed=generator.initial_seed()))


def global_rng(width: int, depth: int, *, in_dim: int, generator: torch.Generator) -> nn.Module:
    """Wrong: initializes from torch's global generator (two builds from one seed differ)."""
    return nn.Sequential(nn.Linear(in_dim, width), nn.Tanh(), nn.Linear(width, 1))


def two_outputs(width: int, depth: int, *, in_dim: int, generator: torch.Generator) -> nn.Module:
    """Wrong: two outputs per input."""
    layer = nn.Linear(in_dim, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(2, in_dim, generator=generator))
        layer.bias.zero_()
    return layer


def not_a_module(width: int, depth: int, *, in_dim: int, generator: torch.Generator) -> str:
    """Wrong: returns no module."""
    return "model"


def nan_outputs(width: int, depth: int, *, in_dim: int, generator: torch.Generator) -> nn.Module:
    """Wrong: a model whose every output is NaN (its weights are)."""
    layer = nn.Linear(in_dim, 1)
    with torch.no_grad():
        layer.weight.fill_(float("nan"))
    return layer
