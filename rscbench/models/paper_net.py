"""The paper's feed-forward network (docs/science.md) and its initialization."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.models.activations import Activation, get_activation

__all__ = ["PaperMLP", "init_std", "paper_mlp"]


def init_std(sigma1: float, width: int) -> float:
    """sigma0 = sigma1 / (2 (1 + sqrt(log(m) / (2m)))), the std of every W entry at init.

    With this choice ||W0^(l)||_2 <= sigma1 sqrt(m) with high probability (sigma1 is the
    per-layer gain).
    """
    return sigma1 / (2.0 * (1.0 + math.sqrt(math.log(width) / (2.0 * width))))


class PaperMLP(nn.Module):
    """f(theta; x) = v^T alpha^(L)(x) / sqrt(m), alpha^(l) = phi(W^(l) alpha^(l-1) / sqrt(m_{l-1})).

    No biases. Parameters are named ``W1 .. WL`` and ``v`` and registered in forward order.
    ``scale_input`` keeps the first layer's 1/sqrt(d) factor (our reading of the paper); with
    ``scale_input=False`` the first layer is W^(1) x without it. For ``out_dim > 1`` the head
    ``v`` has shape (m, out_dim) and the output shape (n, out_dim); otherwise ``v`` has shape (m,)
    and the output shape (n,).
    """

    def __init__(
        self,
        in_dim: int,
        width: int,
        depth: int,
        activation: str,
        sigma1: float,
        *,
        out_dim: int = 1,
        scale_input: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value in (("in_dim", in_dim), ("width", width), ("depth", depth), ("out_dim", out_dim)):
            require_integer(name, value, 1)
        if not (isinstance(sigma1, (int, float)) and math.isfinite(sigma1) and sigma1 > 0):
            raise InvalidArgumentError("sigma1", sigma1, "a finite number > 0")
        self.activation: Activation = get_activation(activation)
        self.in_dim, self.width, self.depth, self.out_dim = in_dim, width, depth, out_dim
        self.sigma1 = float(sigma1)
        self.scale_input = scale_input
        self.sigma0 = init_std(self.sigma1, width)

        generator = torch.Generator().manual_seed(seed)
        fan_ins = [in_dim] + [width] * (depth - 1)
        for layer, fan_in in enumerate(fan_ins, start=1):
            weight = torch.randn(width, fan_in, generator=generator) * self.sigma0
            self.register_parameter(f"W{layer}", nn.Parameter(weight))
        head = torch.randn(width, out_dim, generator=generator)
        head = head / head.norm(dim=0, keepdim=True)
        self.v = nn.Parameter(head.squeeze(1) if out_dim == 1 else head)

    def layer_scales(self) -> list[float]:
        """The factor c_l dividing W^(l) alpha^(l-1) for each layer (sqrt of its fan-in, or 1)."""
        first = math.sqrt(self.in_dim) if self.scale_input else 1.0
        return [first] + [math.sqrt(self.width)] * (self.depth - 1)

    def weights(self) -> list[Tensor]:
        """W^(1), ..., W^(L) in forward order."""
        return [getattr(self, f"W{layer}") for layer in range(1, self.depth + 1)]

    def forward(self, x: Tensor) -> Tensor:
        """Predictions f(theta; x) for a batch x of shape (n, in_dim)."""
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise InvalidArgumentError("X.shape", tuple(x.shape), f"(n, {self.in_dim})")
        hidden = x
        for weight, scale in zip(self.weights(), self.layer_scales(), strict=True):
            hidden = self.activation.fn(hidden @ weight.T / scale)
        return hidden @ self.v / math.sqrt(self.width)


def paper_mlp(
    in_dim: int,
    width: int,
    depth: int,
    activation: str,
    sigma1: float,
    *,
    out_dim: int = 1,
    seed: int = 0,
    scale_input: bool = True,
) -> PaperMLP:
    """Build the section-1 network with depth L hidden layers of width m, initialized from ``seed``.

    Every W entry is i.i.d. N(0, sigma0^2) with sigma0 = init_std(sigma1, width); each column of
    the head is uniform on the unit sphere. All draws use one torch.Generator seeded with ``seed``.
    """
    return PaperMLP(
        in_dim, width, depth, activation, sigma1, out_dim=out_dim, scale_input=scale_input, seed=seed
    )
