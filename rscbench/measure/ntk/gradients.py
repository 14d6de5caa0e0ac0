"""Per-sample gradient norms ||grad_theta f(theta; x_i)|| (the rho-type bound of Q4), structured for
the paper's network, by vmap(grad) in chunks for any other model."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rscbench.measure.ntk.checks import (
    check_chunk_size,
    check_model,
    check_X,
    check_X_for_model,
    default_chunk,
    is_structured,
    scalar_rows,
)
from rscbench.measure.ntk.generic import row_gradients_fn
from rscbench.measure.ntk.structured import structured_factors
from rscbench.measure.params import FlatLayout, ModelFn, ParamDict, detached_params, model_function

__all__ = ["per_sample_grad_norms", "per_sample_grad_norms_of"]


def per_sample_grad_norms(model: nn.Module, X: Tensor, *, chunk_size: int | None = None) -> Tensor:
    """||grad_theta f(theta; x_i)||_2 for each row of X, shape (n,): the square roots of diag(K).

    For a :class:`PaperMLP` with one output the diagonal is computed directly in O(n L m):
    K_ii = sum_l ||Delta_l[i]||^2 ||A_{l-1}[i]||^2 / c_l^2 + ||A_L[i]||^2 / m, without the n x n matrix.
    Otherwise per-sample gradients by vmap(grad) over blocks of ``chunk_size`` rows (None: from
    ``JACOBIAN_BUDGET_BYTES``). Units: output units per parameter unit (dimensionless for the paper's
    network). Model dtype and device. The max over rows is the paper's rho-type bound (docs/science.md, Q4).
    """
    check_model(model)
    check_chunk_size(chunk_size)
    check_X_for_model(model, X)
    if is_structured(model):
        acts, deltas, scales = structured_factors(model, X)
        diag = acts[-1].square().sum(1) / model.width
        for a_prev, delta, c in zip(acts[:-1], deltas, scales, strict=True):
            diag = diag + delta.square().sum(1) * a_prev.square().sum(1) / (c * c)
        return diag.sqrt()
    return per_sample_grad_norms_of(model_function(model), detached_params(model), X, chunk_size=chunk_size)


def per_sample_grad_norms_of(
    model_fn: ModelFn, params: ParamDict, X: Tensor, *, chunk_size: int | None = None
) -> Tensor:
    """||grad_params f(params; x_i)||_2 for each row of X, shape (n,), for any torch function f(params, X).

    Per-sample gradients by vmap(grad) over blocks of ``chunk_size`` rows (None: from
    ``JACOBIAN_BUDGET_BYTES``), so at most ``chunk_size`` parameter-sized vectors are held. Units: output
    units per parameter unit. Rows must be independent (see :func:`ntk_gram_of`).
    """
    check_chunk_size(chunk_size)
    layout = FlatLayout(params)
    check_X(X)
    out = scalar_rows(model_fn, params, X)
    chunk = chunk_size if chunk_size is not None else default_chunk(layout.dim, out.dtype)
    row_grads = row_gradients_fn(model_fn)
    pieces = []
    for i0 in range(0, X.shape[0], chunk):
        G = row_grads(params, X[i0 : i0 + chunk])
        pieces.append(sum(g.reshape(g.shape[0], -1).square().sum(1) for g in G.values()))
    return torch.cat(pieces).sqrt()
