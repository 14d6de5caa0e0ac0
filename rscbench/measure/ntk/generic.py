"""The NTK Gram of any model: chunked Jacobian contraction or NTK-vector products, whichever the
flop estimate prefers among those that fit the memory budget."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import grad, jvp, vjp, vmap
from torch.utils.flop_counter import FlopCounterMode

from rscbench.measure.memory import (
    MemoryBudgetError,
    jacobian_gram_bytes,
    products_gram_bytes,
    saved_activation_bytes,
)
from rscbench.measure.ntk.checks import (
    GENERIC_METHODS,
    check_budget_argument,
    check_chunk_size,
    check_method,
    check_X,
    default_chunk,
    scalar_rows,
)
from rscbench.measure.params import FlatLayout, ModelFn, ParamDict


def ntk_gram_of(
    model_fn: ModelFn,
    params: ParamDict,
    X: Tensor,
    *,
    method: str = "jacobian",
    chunk_size: int | None = None,
    memory_budget_bytes: int | None = None,
) -> Tensor:
    """The empirical NTK Gram matrix K = J J^T (n x n) of any torch function f(params, X) -> (n,).

    K_ij = sum over every tensor in ``params`` of <d f_i / d params, d f_j / d params>. ``model_fn`` must
    give one scalar per row of X (shape (n,) or (n, 1)) and treat rows independently. Units:
    (output units)^2 per (parameter units)^2. K is exactly symmetric, in the output's dtype.

    ``method``:

    * ``"jacobian"``: per-sample gradients J_i by vmap(grad) over row blocks. With C = ``chunk_size``:
      if n <= C the whole J (n x p) is built once and K = J J^T; otherwise a resident block of
      R = C - max(1, C // 4) rows is kept while blocks of S = max(1, C // 4) later rows stream past it,
      so at most max(C, 2) parameter-sized vectors are held, and about n + n^2 / (2R) rows of J are
      computed (rows are recomputed rather than stored).
    * ``"products"``: K e_j = J (J^T e_j) by a vjp (from one linearization at X) then a jvp, vmapped over
      C columns at a time: holds C parameter-sized vectors plus C copies of the forward
      intermediates of all n rows.
    * ``"auto"``: count the forward flops per row F (matmul/conv flops, by
      ``torch.utils.flop_counter``) on up to 4 rows, then compare the estimated flops
      jacobian = 3 F (rows of J computed) + 2 n^2 p and products = n F + 4 n^2 F (n vjps and n jvps over
      n rows), and take the smaller. For dense layers F ~ 2 p, so the Jacobian contraction wins at every
      (n, p) (about 2 n^2 p against 8 n^2 p); products win when p far exceeds the per-row compute
      (embedding tables, parameters a row touches only in part). Elementwise work is not counted.
      Only methods whose estimated peak fits ``memory_budget_bytes`` compete.

    ``chunk_size``: C above; None takes ``JACOBIAN_BUDGET_BYTES // (p * element size)``, at least 1,
    or, with a budget, the largest C whose estimated peak fits it.

    ``memory_budget_bytes`` (None: no limit): the estimated peak of each method at its chunk, by
    rscbench.measure.memory.jacobian_gram_bytes / products_gram_bytes with the bytes one row's
    forward saves (measured by a forward on one row); MemoryBudgetError before any work when the
    method asked for (or, for "auto", every method) cannot fit.
    """
    check_method(method, GENERIC_METHODS)
    check_chunk_size(chunk_size)
    check_budget_argument(memory_budget_bytes)
    FlatLayout(params)
    check_X(X)
    scalar_rows(model_fn, params, X)
    method, chunk = plan_generic_gram(
        model_fn, params, X, method=method, chunk_size=chunk_size, memory_budget_bytes=memory_budget_bytes
    )
    if method == "products":
        K = _products_gram(model_fn, params, X, chunk)
    else:
        K = _jacobian_gram(model_fn, params, X, chunk)
    return (K + K.T) / 2


__all__ = ["ntk_gram_of", "plan_generic_gram", "row_gradients_fn"]


def row_gradients_fn(model_fn: ModelFn) -> Callable[[ParamDict, Tensor], ParamDict]:
    """(params, X_block) -> per-sample gradients, a dict of (rows, *shape) tensors."""

    def f_row(params: ParamDict, x: Tensor) -> Tensor:
        return model_fn(params, x.unsqueeze(0)).reshape(())

    return vmap(grad(f_row), in_dims=(None, 0))


def _block_product(left: ParamDict, right: ParamDict) -> Tensor:
    """sum over parameter tensors of G_left G_right^T: the (rows_left, rows_right) block of K."""
    total = None
    for name, g_left in left.items():
        g_right = right[name]
        term = g_left.reshape(g_left.shape[0], -1) @ g_right.reshape(g_right.shape[0], -1).T
        total = term if total is None else total + term
    assert total is not None
    return total


def _jacobian_gram(model_fn: ModelFn, params: ParamDict, X: Tensor, chunk: int) -> Tensor:
    row_grads = row_gradients_fn(model_fn)
    n = X.shape[0]
    if n <= chunk:
        G = row_grads(params, X)
        return _block_product(G, G)
    stream = max(1, chunk // 4)
    resident = max(1, chunk - stream)
    K: Tensor | None = None
    for i0 in range(0, n, resident):
        i1 = min(n, i0 + resident)
        G_i = row_grads(params, X[i0:i1])
        diag = _block_product(G_i, G_i)
        if K is None:
            K = diag.new_zeros(n, n)
        K[i0:i1, i0:i1] = diag
        for j0 in range(i1, n, stream):
            j1 = min(n, j0 + stream)
            block = _block_product(G_i, row_grads(params, X[j0:j1]))
            K[i0:i1, j0:j1] = block
            K[j0:j1, i0:i1] = block.T
        del G_i
    assert K is not None
    return K


def _products_gram(model_fn: ModelFn, params: ParamDict, X: Tensor, chunk: int) -> Tensor:
    def f(p: ParamDict) -> Tensor:
        return model_fn(p, X).reshape(-1)

    out, vjp_fn = vjp(f, params)
    n = out.shape[0]

    def column(cotangent: Tensor) -> Tensor:
        (pullback,) = vjp_fn(cotangent)
        return jvp(f, (params,), (pullback,))[1]

    eye = torch.eye(n, dtype=out.dtype, device=out.device)
    K = out.new_empty(n, n)
    for j0 in range(0, n, chunk):
        j1 = min(n, j0 + chunk)
        K[:, j0:j1] = vmap(column)(eye[j0:j1]).T
    return K


def plan_generic_gram(
    model_fn: ModelFn,
    params: ParamDict,
    X: Tensor,
    *,
    method: str = "auto",
    chunk_size: int | None = None,
    memory_budget_bytes: int | None = None,
) -> tuple[str, int]:
    """The generic Gram method and chunk :func:`ntk_gram_of` runs: ("jacobian" or "products", C).

    Each candidate ("auto": both) gets its chunk (``chunk_size``; else with a budget the largest C
    whose estimated peak fits, without one ``JACOBIAN_BUDGET_BYTES // (p s)``); those whose peak at
    that chunk exceeds ``memory_budget_bytes`` drop out, and the one with fewer estimated flops
    (see ntk_gram_of) wins. Raises MemoryBudgetError, with the smallest estimate, when none fits.
    """
    check_method(method, GENERIC_METHODS)
    n, p = X.shape[0], FlatLayout(params).dim
    rows = X[: min(n, 4)]
    with FlopCounterMode(display=False) as counter:
        dtype = model_fn(params, rows).dtype
    itemsize = dtype.itemsize
    flops_per_row = counter.get_total_flops() / rows.shape[0]
    row_act = saved_activation_bytes(model_fn, params, X[:1])
    peak = {"jacobian": jacobian_gram_bytes, "products": products_gram_bytes}
    candidates = ("jacobian", "products") if method == "auto" else (method,)
    fitting: list[tuple[float, str, int]] = []
    smallest: tuple[int, str] | None = None
    for name in candidates:

        def need(chunk: int, name: str = name) -> int:
            return peak[name](n, chunk, p * itemsize, row_act, itemsize)

        if chunk_size is not None:
            chunk = chunk_size
        elif memory_budget_bytes is None:
            chunk = default_chunk(p, dtype)
        else:
            chunk = _largest_fitting(need, n, memory_budget_bytes)
        if smallest is None or need(chunk) < smallest[0]:
            smallest = (need(chunk), name)
        if memory_budget_bytes is None or need(chunk) <= memory_budget_bytes:
            fitting.append((_gram_flops(name, n, p, flops_per_row, chunk), name, chunk))
    if not fitting:
        assert smallest is not None
        raise MemoryBudgetError(f"ntk_gram ({smallest[1]})", smallest[0], memory_budget_bytes or 0)
    _, name, chunk = min(fitting)
    return name, chunk


def _largest_fitting(need: Callable[[int], int], n: int, budget: int) -> int:
    """The largest chunk in [1, n] with need(chunk) <= budget (need grows with chunk); 1 if none."""
    low, high = 1, n
    while low < high:
        middle = (low + high + 1) // 2
        if need(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _gram_flops(method: str, n: int, p: int, flops_per_row: float, chunk: int) -> float:
    """Estimated flops: jacobian 3 F (rows of J computed) + 2 n^2 p; products n F + 4 n^2 F."""
    if method == "products":
        return n * flops_per_row + 4 * n * n * flops_per_row
    if n <= chunk:
        rows_computed = n
    else:
        resident = max(1, chunk - max(1, chunk // 4))
        rows_computed = n + n * n / (2 * resident)
    return 3 * flops_per_row * rows_computed + 2 * n * n * p
