"""Registry of training losses, with the per-sample derivatives the RSC bounds need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rscbench.errors import InvalidArgumentError
from rscbench.measure.params import ParamDict, ScalarFn, detached_params, model_function, scalar_output

__all__ = ["LOSSES", "Loss", "get_loss", "loss_function"]


@dataclass(frozen=True)
class Loss:
    """A loss l(y, f) averaged over samples: L = (1/n) sum_i l(y_i, f(theta; x_i)).

    ``per_sample`` maps (outputs, targets) to the n losses. For scalar-output losses
    ``first``/``second`` give l'_i = dl/df and l''_i = d^2l/df^2 per sample (the Gauss-Newton
    split of Q6 needs them); they are None for cross-entropy, whose curvature in f is a matrix.
    """

    name: str
    per_sample: Callable[[Tensor, Tensor], Tensor]
    first: Callable[[Tensor, Tensor], Tensor] | None
    second: Callable[[Tensor, Tensor], Tensor] | None
    targets: str

    @property
    def scalar_output(self) -> bool:
        """Whether the loss takes one scalar prediction per sample."""
        return self.second is not None

    def mean(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """L = mean over samples of l(y_i, f_i)."""
        return self.per_sample(outputs, targets).mean()


def _square(f: Tensor, y: Tensor) -> Tensor:
    return (f - y) ** 2


def _logistic(f: Tensor, y: Tensor) -> Tensor:
    return F.softplus(-y * f)


def _cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    return F.cross_entropy(logits, labels, reduction="none")


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss(
            "square", _square, lambda f, y: 2 * (f - y), lambda f, y: torch.full_like(f, 2.0), "real numbers"
        ),
        Loss(
            "logistic",
            _logistic,
            lambda f, y: -y * torch.sigmoid(-y * f),
            lambda f, y: torch.sigmoid(y * f) * torch.sigmoid(-y * f),
            "labels in {-1, +1}",
        ),
        Loss("cross_entropy", _cross_entropy, None, None, "integer class labels in [0, out_dim)"),
    )
}


def get_loss(name: str) -> Loss:
    """Return the registered loss called ``name``; raise InvalidArgumentError otherwise."""
    try:
        return LOSSES[name]
    except KeyError:
        raise InvalidArgumentError("loss", name, "one of " + ", ".join(LOSSES)) from None


def check_targets(loss: Loss, outputs: Tensor, y: Tensor) -> None:
    """Raise InvalidArgumentError if ``y`` does not fit ``loss`` and the model's ``outputs``."""
    n = outputs.shape[0]
    if y.shape != (n,):
        raise InvalidArgumentError("y.shape", tuple(y.shape), f"({n},), one target per row of X")
    if loss.name == "cross_entropy":
        classes = outputs.shape[1] if outputs.dim() == 2 else 1
        if (
            outputs.dim() != 2
            or y.dtype not in (torch.int32, torch.int64)
            or y.min() < 0
            or y.max() >= classes
        ):
            raise InvalidArgumentError(
                "y", "labels", f"{loss.targets} with an (n, k) model output, k = out_dim"
            )
    elif loss.name == "logistic" and not bool(((y == 1) | (y == -1)).all()):
        raise InvalidArgumentError("y", "values outside {-1, +1}", loss.targets)
    elif not bool(torch.isfinite(y).all()):
        raise InvalidArgumentError("y", "non-finite values", "finite " + loss.targets)


def loss_function(model: nn.Module, X: Tensor, y: Tensor, loss: str = "square") -> ScalarFn:
    """Return L(params) = (1/n) sum_i l(y_i, f(params; x_i)) for the model's architecture."""
    chosen = get_loss(loss)
    f = model_function(model)
    params = detached_params(model)
    if chosen.scalar_output:
        check_targets(chosen, scalar_output(f, params, X), y)

        def value(p: ParamDict) -> Tensor:
            return chosen.mean(scalar_output(f, p, X), y)
    else:
        check_targets(chosen, f(params, X), y)

        def value(p: ParamDict) -> Tensor:
            return chosen.mean(f(p, X), y)

    return value
