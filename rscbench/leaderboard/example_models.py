"""An example of a user's own model for the leaderboard: a residual tanh network built by a factory.

The shipped entry ``leaderboard/entries/resmlp-tanh.toml`` names it as
``arch = "rscbench.leaderboard.example_models:residual_tanh"``; copy this module's pattern for
your own model (see rscbench.models.factories for the factory contract).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["ResidualTanhMLP", "residual_tanh"]


class ResidualTanhMLP(nn.Module):
    """h_1 = tanh(W_1 x / sqrt(d)), h_l = h_{l-1} + tanh(W_l h_{l-1} / sqrt(m)) / sqrt(L) for l >= 2,
    f = v^T h_L / sqrt(m).

    The paper's scaling (NTK parametrization, unit-variance weights scaled by 1/sqrt(fan-in)) with
    skip connections whose branches are scaled by 1/sqrt(L), so depth does not blow up the
    forward pass. No biases. Parameters: ``W1`` (m x d), ``W2 .. WL`` (m x m), ``v`` (m).
    """

    def __init__(self, in_dim: int, width: int, depth: int, generator: torch.Generator) -> None:
        super().__init__()
        self.in_dim, self.width, self.depth = in_dim, width, depth
        fan_ins = [in_dim] + [width] * (depth - 1)
        for layer, fan_in in enumerate(fan_ins, start=1):
            weight = torch.randn(width, fan_in, generator=generator)
            self.register_parameter(f"W{layer}", nn.Parameter(weight))
        head = torch.randn(width, generator=generator)
        self.v = nn.Parameter(head / head.norm())

    def forward(self, x: Tensor) -> Tensor:
        """Predictions f(x), shape (n,), for a batch x of shape (n, in_dim)."""
        hidden = torch.tanh(x @ self.W1.T / math.sqrt(self.in_dim))
        branch_scale = 1.0 / math.sqrt(self.depth)
        for layer in range(2, self.depth + 1):
            weight = getattr(self, f"W{layer}")
            hidden = hidden + branch_scale * torch.tanh(hidden @ weight.T / math.sqrt(self.width))
        return hidden @ self.v / math.sqrt(self.width)


def residual_tanh(width: int, depth: int, *, in_dim: int, generator: torch.Generator) -> ResidualTanhMLP:
    """Factory of the example entry: a ResidualTanhMLP initialized from ``generator``."""
    return ResidualTanhMLP(in_dim, width, depth, generator)
