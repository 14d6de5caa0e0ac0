"""Users' own models ("bring your own model", docs/science.md): a factory named ``module:function``.

A factory is a function ``factory(width, depth, *, in_dim, generator) -> torch.nn.Module`` that
builds a network of ``depth`` hidden layers of ``width`` units for inputs of dimension ``in_dim``,
drawing every random number of its initialization from ``generator`` (a torch.Generator seeded
from the task), and whose forward maps a batch of shape (n, in_dim) to one scalar per row (shape
(n,) or (n, 1)). Every measurement kernel then runs on it through torch.func.functional_call.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import torch
from torch import nn

from rscbench.errors import InvalidArgumentError
from rscbench.vocabulary import FACTORY_REFERENCE

__all__ = ["build_factory_model", "check_factory", "resolve_factory"]

Factory = Callable[..., nn.Module]
CHECK_ROWS = 3


def resolve_factory(reference: str) -> Factory:
    """The function named by ``reference`` (``module:function``), imported from this Python's path.

    Raises InvalidArgumentError (argument ``model.arch``) when the reference is malformed, the
    module cannot be imported (or exits while importing), or it has no callable of that name that
    takes ``(width, depth, *, in_dim, generator)`` (so a function of another kind, such as
    ``os:system``, is refused before it is called).
    """
    if not isinstance(reference, str) or not FACTORY_REFERENCE.fullmatch(reference):
        raise InvalidArgumentError("model.arch", reference, "a factory written module:function")
    module_name, function_name = reference.split(":")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as error:  # any import-time failure (or exit) of the user's module
        raise InvalidArgumentError(
            "model.arch",
            reference,
            f"a module importable here ({_failure(error)}; put its folder on PYTHONPATH)",
        ) from None
    factory = getattr(module, function_name, None)
    if not callable(factory):
        raise InvalidArgumentError("model.arch", reference, f"a function {function_name} in {module_name}")
    try:
        inspect.signature(factory).bind(1, 1, in_dim=1, generator=None)
    except (TypeError, ValueError):  # ValueError: a builtin without a readable signature
        raise InvalidArgumentError(
            "model.arch", reference, f"a function {function_name}(width, depth, *, in_dim, generator)"
        ) from None
    return factory


def _failure(error: BaseException) -> str:
    """What the user's code raised, in words (a SystemExit is named with its code)."""
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r})"
    return f"{type(error).__name__}: {error}"


def build_factory_model(reference: str, *, in_dim: int, width: int, depth: int, seed: int) -> nn.Module:
    """Build the factory's model with its initialization drawn from a torch.Generator seeded with ``seed``.

    Raises InvalidArgumentError (argument ``model.arch``) when the factory fails or returns
    something other than an nn.Module with floating-point parameters.
    """
    factory = resolve_factory(reference)
    generator = torch.Generator().manual_seed(seed)
    try:
        model = factory(width, depth, in_dim=in_dim, generator=generator)
    except (Exception, SystemExit) as error:  # the user's code failing is bad input, in one line
        raise InvalidArgumentError(
            "model.arch",
            reference,
            f"a factory that builds (width={width}, depth={depth}, in_dim={in_dim}) ({_failure(error)})",
        ) from None
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError(
            "model.arch", reference, f"a factory returning an nn.Module, not {type(model).__name__}"
        )
    parameters = list(model.parameters())
    if not parameters or not all(p.dtype.is_floating_point for p in parameters):
        raise InvalidArgumentError(
            "model.arch", reference, "a factory whose model has floating-point parameters"
        )
    return model


def check_factory(reference: str, *, in_dim: int, width: int, depth: int) -> None:
    """Check a factory before its tasks run: it builds, gives one scalar per input, and is reproducible.

    Builds the model twice from seed 0 (the parameters must be identical: an initialization drawn
    from torch's global generator instead of ``generator`` fails here) and evaluates it on
    CHECK_ROWS inputs. Raises InvalidArgumentError (argument ``model.arch``) naming what failed.
    """
    first = build_factory_model(reference, in_dim=in_dim, width=width, depth=depth, seed=0)
    second = build_factory_model(reference, in_dim=in_dim, width=width, depth=depth, seed=0)
    same = [
        name_a == name_b and a.shape == b.shape and torch.equal(a, b)
        for (name_a, a), (name_b, b) in zip(first.named_parameters(), second.named_parameters(), strict=False)
    ]
    if len(same) != len(list(first.parameters())) or not all(same):
        raise InvalidArgumentError(
            "model.arch",
            reference,
            "a factory drawing its initialization only from its generator (two builds "
            "from the same seed differ)",
        )
    inputs = torch.randn(CHECK_ROWS, in_dim, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            output = first(inputs)
    except (Exception, SystemExit) as error:  # the user's forward failing is bad input
        raise InvalidArgumentError(
            "model.arch", reference, f"a model accepting inputs of shape (n, {in_dim}) ({_failure(error)})"
        ) from None
    if not isinstance(output, torch.Tensor) or tuple(output.shape) not in ((CHECK_ROWS,), (CHECK_ROWS, 1)):
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise InvalidArgumentError(
            "model.arch", reference, f"a model giving one scalar per input row (output shape {shape})"
        )
