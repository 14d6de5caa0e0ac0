"""Parameter dicts: flattening to one vector and calling an nn.Module as a function of its parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeAlias

import torch
from torch import Tensor, nn
from torch.func import functional_call

from rscbench.errors import InvalidArgumentError

ParamDict: TypeAlias = dict[str, Tensor]
ScalarFn: TypeAlias = Callable[[ParamDict], Tensor]
ModelFn: TypeAlias = Callable[[ParamDict, Tensor], Tensor]


class FlatLayout:
    """The order, shapes and sizes of a parameter dict, to move between the dict and one flat vector."""

    def __init__(self, params: Mapping[str, Tensor]) -> None:
        if not params:
            raise InvalidArgumentError("params", {}, "a non-empty dict of name -> Tensor")
        for name, value in params.items():
            if not isinstance(value, Tensor):
                raise InvalidArgumentError(f"params[{name!r}]", type(value).__name__, "a torch.Tensor")
        self.names = list(params)
        self.shapes = [params[name].shape for name in self.names]
        self.numels = [params[name].numel() for name in self.names]
        first = params[self.names[0]]
        self.dtype, self.device = first.dtype, first.device
        self.dim = sum(self.numels)

    def flatten(self, tensors: Mapping[str, Tensor]) -> Tensor:
        """Concatenate ``tensors`` (same names and shapes as the layout) into a vector of length dim."""
        if list(tensors) != self.names:
            raise InvalidArgumentError("vector keys", list(tensors), f"exactly {self.names}")
        for name, shape in zip(self.names, self.shapes, strict=True):
            if tensors[name].shape != shape:
                raise InvalidArgumentError(
                    f"vector[{name!r}].shape", tuple(tensors[name].shape), tuple(shape)
                )
        return torch.cat([tensors[name].reshape(-1) for name in self.names])

    def unflatten(self, flat: Tensor) -> ParamDict:
        """Split a vector of length dim (or a batch of shape (..., dim)) into views shaped like the params."""
        lead = flat.shape[:-1]
        pieces = torch.split(flat, self.numels, dim=-1)
        return {
            name: piece.reshape(*lead, *shape)
            for name, piece, shape in zip(self.names, pieces, self.shapes, strict=True)
        }


def detached_params(model: nn.Module) -> ParamDict:
    """The model's parameters as a dict of detached tensors, in model.named_parameters() order."""
    return {name: param.detach() for name, param in model.named_parameters()}


def model_function(model: nn.Module) -> ModelFn:
    """Return f(params, X) = model(X) evaluated at ``params`` through torch.func.functional_call."""

    def f(params: ParamDict, X: Tensor) -> Tensor:
        return functional_call(model, params, (X,))

    return f


def scalar_output(model_fn: ModelFn, params: ParamDict, X: Tensor) -> Tensor:
    """Evaluate a model that must give one scalar per row of X; return the outputs with shape (n,)."""
    out = model_fn(params, X)
    if not isinstance(out, Tensor):
        raise InvalidArgumentError(
            "model output shape", type(out).__name__, "a tensor with one scalar per row"
        )
    if out.dim() == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape != (X.shape[0],):
        raise InvalidArgumentError(
            "model output shape", tuple(out.shape), f"({X.shape[0]},) or ({X.shape[0]}, 1)"
        )
    return out


def require_scalar(value: Tensor, argument: str = "fn") -> Tensor:
    """Check that ``value`` (the output of ``argument``) is a real scalar tensor and return it."""
    if not isinstance(value, Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise InvalidArgumentError(f"{argument} output", shape, "a scalar tensor (one element)")
    return value.reshape(())
