"""The NTK Gram entry point: the structured formula for the paper's network if it fits, else a generic one."""

from __future__ import annotations

from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError
from rscbench.measure.memory import MemoryBudgetError, structured_gram_bytes
from rscbench.measure.ntk.checks import (
    check_budget_argument,
    check_chunk_size,
    check_method,
    check_model,
    check_X_for_model,
    is_structured,
)
from rscbench.measure.ntk.generic import ntk_gram_of
from rscbench.measure.ntk.structured import paper_row_act, structured_gram
from rscbench.measure.params import detached_params, model_function

NTK_METHODS = ("auto", "structured", "jacobian", "products")


def ntk_gram(
    model: nn.Module,
    X: Tensor,
    *,
    method: str = "auto",
    chunk_size: int | None = None,
    memory_budget_bytes: int | None = None,
) -> Tensor:
    """The empirical NTK Gram matrix K_ij = <grad_theta f(x_i), grad_theta f(x_j)>, shape (n, n).

    theta is every parameter of ``model``; f must give one scalar per row of X (output shape (n,) or
    (n, 1)). Units: (output units)^2 per (parameter units)^2, dimensionless for the paper's network.
    K is returned exactly symmetric, in the model's dtype and on its device.

    ``method``:

    * ``"auto"``: ``"structured"`` for a :class:`PaperMLP` with ``out_dim == 1`` (and its own forward)
      when it fits ``memory_budget_bytes`` (it is the fastest and, but for n^2 terms, the lightest);
      otherwise the cheaper generic path that fits, as :func:`ntk_gram_of` with ``method="auto"``.
    * ``"structured"``: the layer-wise formula (see the module docstring); only for such a PaperMLP.
      O(n L m + n^2) memory, no parameter-sized vector held.
    * ``"jacobian"``: chunked Jacobian contraction; holds at most ``chunk_size`` Jacobian rows.
    * ``"products"``: NTK-vector products; holds ``chunk_size`` vjp results plus ``chunk_size`` copies of
      the n-row forward intermediates.

    ``chunk_size`` (generic paths only): rows (or columns) handled at once; None takes
    ``JACOBIAN_BUDGET_BYTES // (p * element size)``, at least 1, or with a budget the largest that fits.

    ``memory_budget_bytes`` (None: no limit) bounds the estimated peak (rscbench.measure.memory):
    a method that cannot fit it is not run, and MemoryBudgetError is raised before any work when
    none that is allowed fits.
    """
    check_model(model)
    check_method(method, NTK_METHODS)
    check_chunk_size(chunk_size)
    check_budget_argument(memory_budget_bytes)
    check_X_for_model(model, X)
    if is_structured(model):
        if method in ("auto", "structured"):
            need = structured_gram_bytes(X.shape[0], paper_row_act(model, X), X.dtype.itemsize)
            if memory_budget_bytes is None or need <= memory_budget_bytes:
                return structured_gram(model, X)
            if method == "structured":
                raise MemoryBudgetError("ntk_gram (structured)", need, memory_budget_bytes)
    elif method == "structured":
        raise InvalidArgumentError(
            "method",
            method,
            "'structured' only for a PaperMLP with out_dim == 1; else 'auto', 'jacobian', 'products'",
        )
    return ntk_gram_of(
        model_function(model),
        detached_params(model),
        X,
        method=method,
        chunk_size=chunk_size,
        memory_budget_bytes=memory_budget_bytes,
    )


__all__ = ["NTK_METHODS", "ntk_gram"]
