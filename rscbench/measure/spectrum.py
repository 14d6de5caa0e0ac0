"""Extreme eigenvalues and block norms of the Hessian of any scalar function of a parameter dict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

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

    ``lambda_max``/``lambda_min`` are Ritz values (inside the spectrum); ``error_max`` and
    ``error_min`` bound their one-sided errors (lambda_max <= lambda_max + error_max,
    lambda_min >= lambda_min - error_min: Kato-Temple where the gap was resolved, else the
    residual); ``residual_max``/``residual_min`` are the Ritz residuals. ``norm`` = max |lambda|
    and ``error_norm`` its error bound. Units: those of the function divided by squared parameter
    units. ``n_hvp`` counts Hessian-vector products; ``space`` is where Lanczos ran ("full", or
    "structured": the subspace S of the paper's network, rscbench.measure.spaces).
    """

    lambda_max: float
    lambda_min: float
    norm: float
    residual_max: float
    residual_min: float
    error_max: float
    error_min: float
    error_norm: float
    n_hvp: int
    iterations: int
    converged: bool
    stop_rule: str
    last_change: float
    restarts: int = 0
    space: str = "full"

    @classmethod
    def from_lanczos(
        cls, result: LanczosResult, index: int, n_hvp: int, *, space: str = "full"
    ) -> HessianExtremes:
        """Pick problem ``index`` of a batched Lanczos result."""
        return cls(
            lambda_max=float(result.lambda_max[index]),
            lambda_min=float(result.lambda_min[index]),
            norm=float(result.norm[index]),
            residual_max=float(result.residual_max[index]),
            residual_min=float(result.residual_min[index]),
            error_max=float(result.error_max[index]),
            error_min=float(result.error_min[index]),
            error_norm=float(result.error_norm[index]),
            n_hvp=n_hvp,
            iterations=int(result.iterations[index]),
            converged=bool(result.converged[index]),
            stop_rule=result.stop_rule[index],
            last_change=float(result.last_change[index]),
            restarts=int(result.restarts[index]),
            space=space,
        )

    def including_zero(self) -> HessianExtremes:
        """The extremes of the spectrum with the eigenvalue 0 added (exact: its eigenvectors are known).

        For an operator computed on a proper subspace outside which it vanishes. An end that 0
        replaces has residual 0 and keeps as error the part of its interval beyond 0.
        """
        top, bottom = max(self.lambda_max, 0.0), min(self.lambda_min, 0.0)
        error_max = max(self.lambda_max + self.error_max, 0.0) - top
        error_min = bottom - min(self.lambda_min - self.error_min, 0.0)
        return replace(
            self,
            lambda_max=top,
            lambda_min=bottom,
            norm=max(top, -bottom),
            residual_max=self.residual_max if top == self.lambda_max else 0.0,
            residual_min=self.residual_min if bottom == self.lambda_min else 0.0,
            error_max=error_max,
            error_min=error_min,
            error_norm=max(top + error_max, error_min - bottom) - max(top, -bottom),
        )

    @property
    def lower_min(self) -> float:
        """A lower bound on lambda_min: the Ritz value minus its error bound."""
        return self.lambda_min - self.error_min


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

    Thick-restart Lanczos (rscbench.measure.lanczos) on exact Hessian-vector products
    (``method``, see rscbench.measure.hvp; "reuse" builds the gradient graph once for all
    products). Stops when the error bound of the ``target`` ("both" ends, "largest",
    "smallest", or "norm": the spectral norm) is <= tol * norm;
    the other end is still reported with its own bound. ``converged`` is False if ``max_iter``
    products did not get there. Memory: at most lanczos_vectors(p) + 3 parameter-sized vectors
    (the Krylov basis, up to DEFAULT_MAX_BASIS vectors allocated 8 at a time as steps are taken and
    a restart's kept vectors, 4 work vectors, the start, the leaves and gradient of the kept graph)
    plus the gradient graph; rscbench.measure.memory.loss_hessian_bytes states it in bytes.
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
    singular values of B (two products per step), so ``norm`` = ||B||_2. Lanczos stops on the
    norm's error bound (target "norm").
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
    result = lanczos(matvec, start, tol=tol, max_iter=max_iter, target="norm")
    return HessianExtremes.from_lanczos(result, 0, operator.n_products)
