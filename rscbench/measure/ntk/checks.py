"""Argument checks shared by the NTK kernels: the model, X, the method, chunk sizes and budgets."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.memory import JACOBIAN_CHUNK_BYTES
from rscbench.measure.params import ModelFn, ParamDict, scalar_output
from rscbench.models.paper_net import PaperMLP

__all__ = [
    "GENERIC_METHODS",
    "JACOBIAN_BUDGET_BYTES",
    "check_X",
    "check_X_for_model",
    "check_budget_argument",
    "check_chunk_size",
    "check_method",
    "check_model",
    "default_chunk",
    "input_size",
    "is_structured",
    "scalar_rows",
]


JACOBIAN_BUDGET_BYTES = JACOBIAN_CHUNK_BYTES
"""Memory for Jacobian rows (or vjp results) held at once when ``chunk_size`` is None: 256 MiB."""

GENERIC_METHODS = ("auto", "jacobian", "products")
"""The NTK Gram methods that work on any model."""


def is_structured(model: nn.Module) -> bool:
    """Whether the layer-wise formula applies: a PaperMLP with one output and the class's own forward."""
    return isinstance(model, PaperMLP) and model.out_dim == 1 and type(model).forward is PaperMLP.forward


def check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError("model", type(model).__name__, "a torch.nn.Module")
    if next(model.parameters(), None) is None:
        raise InvalidArgumentError("model", type(model).__name__, "a module with at least one parameter")
    if isinstance(model, PaperMLP) and model.out_dim != 1:
        raise InvalidArgumentError("model.out_dim", model.out_dim, "1 (one scalar output per row)")


def check_method(method: object, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise InvalidArgumentError("method", method, "one of " + ", ".join(repr(m) for m in allowed))


def check_budget_argument(memory_budget_bytes: object) -> None:
    if memory_budget_bytes is not None:
        require_integer("memory_budget_bytes", memory_budget_bytes, 1)


def check_chunk_size(chunk_size: object) -> None:
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidArgumentError("chunk_size", chunk_size, "None or an integer >= 1")


def check_X(X: object) -> None:
    if not isinstance(X, Tensor):
        raise InvalidArgumentError("X", type(X).__name__, "a torch.Tensor of shape (n, d)")
    if X.dim() != 2 or X.shape[0] < 1:
        raise InvalidArgumentError("X.shape", tuple(X.shape), "(n, d) with n >= 1")


def input_size(model: nn.Module) -> int | None:
    """The input width the model expects, where it can be read off; None when unknown."""
    if isinstance(model, PaperMLP):
        return model.in_dim
    if isinstance(getattr(model, "in_features", None), int):
        return model.in_features
    if isinstance(model, nn.Sequential):
        first = next((m for m in model.modules() if not list(m.children())), None)
        if first is not None and isinstance(getattr(first, "in_features", None), int):
            return first.in_features
    return None


def check_X_for_model(model: nn.Module, X: object) -> None:
    check_X(X)
    assert isinstance(X, Tensor)
    expected = input_size(model)
    if expected is not None and X.shape[1] != expected:
        raise InvalidArgumentError("X.shape", tuple(X.shape), f"(n, {expected}) with n >= 1")
    param = next(model.parameters())
    if X.dtype != param.dtype:
        raise InvalidArgumentError("X.dtype", X.dtype, f"{param.dtype} (the model's dtype)")
    if X.device != param.device:
        raise InvalidArgumentError("X.device", X.device, f"{param.device} (the model's device)")


def scalar_rows(model_fn: ModelFn, params: ParamDict, X: Tensor) -> Tensor:
    """Evaluate f(params, X) once and check it gives one scalar per row; return it with shape (n,)."""
    with torch.no_grad():
        out = scalar_output(model_fn, params, X)
    if not out.dtype.is_floating_point:
        raise InvalidArgumentError("model output dtype", out.dtype, "a floating dtype")
    return out


def default_chunk(p: int, dtype: torch.dtype) -> int:
    """Rows of J (parameter-sized vectors) that fit in JACOBIAN_BUDGET_BYTES, at least 1."""
    return max(1, JACOBIAN_BUDGET_BYTES // (p * dtype.itemsize))
