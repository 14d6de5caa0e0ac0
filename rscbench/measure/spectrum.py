"""Extreme eigenvalues and block norms of the Hessian of any scalar function of a parameter dict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.lanczos import DEFAULT_MAX_ITER, LanczosResult, lanczos, random_start
from rscbench.measure.params import ScalarFn

__all__ = ["HessianExtremes", "hessian_block_norm", "hessian_extremes"]


@dataclass(frozen=True)
class HessianExtremes:
    """The extreme eigenvalues of a Hessian and how they were obtained.

    ``lambda_max``/``lambda_min`` are Ritz values (inside the spectrum); ``residual_max`` and
    ``residual_min`` bound their distance to an eigenvalue. ``norm`` = max |lambda|. Units: those
    of the function divided by squared parameter units. ``n_hvp`` counts Hessian-vector products.
    """

    lambda_max: float
    lambda_min: float
    norm: float
    residual_max: float
    residual_min: float
    n_hvp: int
    iterations: int
    converged: bool
    stop_rule: str
    last_change: float

    @classmethod
    def from_lanczos(cls, result: LanczosResult, index: int, n_hvp: int) -> HessianExtremes:
        """Pick problem ``index`` of a batched Lanczos result."""
        return cls(
            lambda_max=float(result.lambda_max[index]),
            lambda_min=float(result.lambda_min[index]),
            norm=float(result.norm[index]),
            residual_max=float(result.residual_max[index]),
            residual_min=float(result.residual_min[index]),
            n_hvp=n_hvp,
            iterations=int(result.iterations[index]),
            converged=bool(result.converged[index]),
            stop_rule=result.stop_rule[index],
            last_change=float(result.last_change[index]),
        )


def hessian_extremes(
    fn: ScalarFn,
    params: Mapping[str, Tensor],
    *,
    tol: float = 1e-3,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: int = 0,
    method: str = "reuse",
    target: str = "both",
) -> HessianExtremes:
    """lambda_max, lambda_min and the spectral norm of nabla^2 fn(params), matrix-free.

    Lanczos with full reorthogonalization on exact Hessian-vector products (``method``, see
    rscbench.measure.hvp; "reuse" builds the gradient graph once for all products). Stops when
    the Ritz residual of the ``target`` end ("both", "largest" or "smallest") is <= tol * norm;
    the other end is still reported with its own residual. ``converged`` is False if
    ``max_iter`` steps did not get there. Memory: at most lanczos_vectors(max_iter, p) + 3
    parameter-sized vectors (the Krylov basis, min(max_iter, p) vectors allocated 8 at a time as
    steps are taken, 4 work vectors, the start, the leaves and gradient of the kept graph) plus the
    gradient graph; rscbench.measure.memory.loss_hessian_bytes states it in bytes and
    lanczos_step_cap gives the ``max_iter`` that fits a budget.
    """
    operator = HessianOperator(fn, params, method)
    start = random_start(1, operator.dim, seed=seed, dtype=operator.dtype, device=operator.device)
    result = lanczos(
        lambda block: operator.matvec(block[0])[None], start, tol=tol, max_iter=max_iter, target=target
    )
    return HessianExtremes.from_lanczos(result, 0, operator.n_products)


def hessian_block_norm(
    fn: ScalarFn,
    params: Mapping[str, Tensor],
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    tol: float = 1e-3,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: int = 0,
) -> HessianExtremes:
    """Spectral norm of the block nabla^2_{rows, cols} fn of the Hessian (Q2).

    ``rows`` and ``cols`` are lists of parameter names. A diagonal block (rows == cols) is
    symmetric and Lanczos runs on it directly (one product per step). An off-diagonal block B is
    handled through its symmetric dilation [[0, B], [B^T, 0]], whose eigenvalues are +/- the
    singular values of B (two products per step), so ``norm`` = ||B||_2.
    """
    names = list(params)
    for argument, group in (("rows", rows), ("cols", cols)):
        unknown = [name for name in group if name not in params]
        if unknown or not group:
            raise InvalidArgumentError(
                argument, list(group), f"a non-empty list of parameter names from {names}"
            )
    operator = HessianOperator(fn, params, "reuse")
    layout = operator.layout
    spans = {}
    offset = 0
    for name, numel in zip(layout.names, layout.numels, strict=True):
        spans[name] = (offset, offset + numel)
        offset += numel
    row_index = torch.cat([torch.arange(*spans[name], device=layout.device) for name in rows])
    col_index = torch.cat([torch.arange(*spans[name], device=layout.device) for name in cols])

    def apply(source: Tensor, values: Tensor, target: Tensor) -> Tensor:
        full = torch.zeros(layout.dim, dtype=layout.dtype, device=layout.device)
        full[source] = values
        return operator.matvec(full)[target]

    if set(rows) == set(cols):
        size = row_index.numel()

        def matvec(block: Tensor) -> Tensor:
            return apply(row_index, block[0], row_index)[None]
    else:
        size = row_index.numel() + col_index.numel()
        split = row_index.numel()

        def matvec(block: Tensor) -> Tensor:
            top = apply(col_index, block[0, split:], row_index)
            bottom = apply(row_index, block[0, :split], col_index)
            return torch.cat([top, bottom])[None]

    start = random_start(1, size, seed=seed, dtype=layout.dtype, device=layout.device)
    result = lanczos(matvec, start, tol=tol, max_iter=max_iter)
    return HessianExtremes.from_lanczos(result, 0, operator.n_products)
