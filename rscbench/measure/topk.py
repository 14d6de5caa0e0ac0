"""Top-k eigenpairs of a symmetric operator by block Lanczos with full reorthogonalization.

Block Lanczos (Golub and Underwood 1977) grows an orthonormal basis of the block Krylov space
span{S, A S, A^2 S, ...} from a random start block S of ``block_size`` columns, one block of
products per step. The projected matrix T = Q^T A Q is filled from the inner products of each
new image block with the whole basis (so it stays exact when orthogonality or the recurrence
degrade), and its eigenpairs (theta, s) give Ritz pairs (theta, Q s). With W the part of the
newest image block outside the basis, W = Q_next R, the residual of a Ritz pair is
||A y - theta y|| = ||R s_last|| (s_last: the entries of s on the newest block), which bounds the
distance from theta to an eigenvalue of A. The run stops when the k targeted Ritz pairs all have
residual <= tol * max |theta|, when the basis reaches ``max_basis`` vectors (or the dimension),
or when a whole new block lies inside the basis (an invariant subspace: the values are exact).

Arithmetic: vectors stay in the operator's dtype; the entries of T and R are inner products by
pairwise summation carried in float64 (rscbench.measure.krylov.inner_product). Each new block
is orthogonalized against the basis twice ("twice is enough"), column by column; a column that
vanishes (it lay inside the basis already) is replaced by a random unit vector orthogonal to it,
drawn from the run's generator, so the block keeps its width. Memory: at most
min(max_basis, dim) basis vectors of length dim plus 2 block_size + k more (the image block, the
next block and the Ritz vectors), besides the operator's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.curvature_operators import LinearOperator
from rscbench.measure.krylov import inner_product
from rscbench.measure.lanczos import DEFAULT_MAX_ITER
from rscbench.measure.trace import operator_probes, probe_vectors

__all__ = ["EIGENPAIR_TARGETS", "Eigenpairs", "top_eigenpairs"]

EIGENPAIR_TARGETS = ("largest", "smallest", "magnitude")


@dataclass(frozen=True)
class Eigenpairs:
    """k Ritz pairs of a symmetric operator, ordered by ``which``, each with its residual bound.

    ``values`` (k,) float64: descending for "largest" and "magnitude" (by |value|), ascending for
    "smallest". ``vectors`` (k, dim), unit rows in the operator's dtype (flat; unflatten with the
    operator's ``layout`` where it has one). ``residuals`` (k,) float64 = ||A y - theta y||, a
    bound on the distance from each value to an eigenvalue. ``stop_rule``: "residual",
    "invariant_subspace" or "max_basis" (not converged unless the residuals met tol there).
    Units: those of the operator's eigenvalues.
    """

    values: Tensor
    vectors: Tensor
    residuals: Tensor
    converged: bool
    stop_rule: str
    block_steps: int
    basis_size: int
    n_products: int
    which: str


def _pair_products(rows: Tensor, columns: Tensor) -> Tensor:
    """(a, b) float64 matrix of inner products rows[i] . columns[j] by pairwise summation."""
    return torch.stack([inner_product(rows, column[None].expand_as(rows)) for column in columns], dim=1)


class _Basis:
    """Orthonormal rows stored block by block, with the run's generator for replacement columns."""

    def __init__(self, dim: int, like: Tensor, generator: torch.Generator) -> None:
        self.blocks: list[Tensor] = []
        self.dim, self.like, self.generator = dim, like, generator

    @property
    def size(self) -> int:
        return sum(block.shape[0] for block in self.blocks)

    def remove(self, vector: Tensor) -> Tensor:
        for block in self.blocks:
            vector = vector - (block @ vector) @ block
        return vector

    def orthonormalize(
        self, block: Tensor, scale: float, *, replace: bool = True
    ) -> tuple[Tensor, Tensor, int]:
        """(Q, R, vanished): rows of ``block`` = R^T Q with Q orthonormal to the basis and itself.

        Components along the stored basis are dropped (the caller has accounted for them); a row
        whose remainder is below 10 eps sqrt(dim) ``scale`` vanished: its diagonal R entry is 0 and
        its Q row is a random vector orthogonal to everything (``replace``) or zero. ``vanished``
        counts such rows.
        """
        width = block.shape[0]
        eps = torch.finfo(block.dtype).eps
        threshold = 10 * eps * self.dim**0.5 * scale
        rows: list[Tensor] = []
        R = torch.zeros(width, width, dtype=torch.float64)
        vanished = 0
        for index in range(width):
            vector = block[index]
            for _ in range(2):
                vector = self.remove(vector)
                for earlier, q in enumerate(rows):
                    coefficient = inner_product(q, vector)
                    R[earlier, index] += coefficient.cpu()
                    vector = vector - coefficient.to(vector.dtype) * q
            norm = float(inner_product(vector, vector).sqrt())
            if norm <= threshold:
                vanished += 1
                vector = self._random_orthogonal(rows) if replace else torch.zeros_like(vector)
            else:
                R[index, index] = norm
                vector = vector / norm
            rows.append(vector)
        return torch.stack(rows), R, vanished

    def _random_orthogonal(self, rows: list[Tensor]) -> Tensor:
        vector = probe_vectors(
            1,
            self.dim,
            generator=self.generator,
            distribution="gaussian",
            dtype=self.like.dtype,
            device=self.like.device,
        )[0]
        for _ in range(2):
            vector = self.remove(vector)
            for q in rows:
                vector = vector - inner_product(q, vector).to(vector.dtype) * q
        return vector / inner_product(vector, vector).sqrt().to(vector.dtype)


def _select(values: Tensor, k: int, which: str) -> Tensor:
    if which == "largest":
        return torch.argsort(values, descending=True)[:k]
    if which == "smallest":
        return torch.argsort(values)[:k]
    return torch.argsort(values.abs(), descending=True)[:k]


def top_eigenpairs(
    operator: LinearOperator,
    k: int,
    *,
    which: str = "largest",
    block_size: int | None = None,
    tol: float = 1e-3,
    max_basis: int = DEFAULT_MAX_ITER,
    seed: int = 0,
) -> Eigenpairs:
    """The k extreme eigenpairs of ``operator`` (``which``: largest, smallest or magnitude).

    ``block_size`` (default k) columns per block; the basis is capped at min(max_basis, dim)
    vectors (at least k). The start block is Gaussian, drawn on
    the CPU from ``seed``. Costs block_size products per block step.
    """
    require_integer("k", k, 1)
    if which not in EIGENPAIR_TARGETS:
        raise InvalidArgumentError("which", which, "one of " + ", ".join(EIGENPAIR_TARGETS))
    block_size = k if block_size is None else block_size
    require_integer("block_size", block_size, 1)
    if not 0 < tol < 1:
        raise InvalidArgumentError("tol", tol, "a number in (0, 1)")
    if k > operator.dim:
        raise InvalidArgumentError("k", k, f"at most the operator's dimension {operator.dim}")
    capacity = min(max_basis, operator.dim)
    if block_size > capacity:
        raise InvalidArgumentError("block_size", block_size, f"at most min(max_basis, dim) = {capacity}")
    if k > capacity:
        raise InvalidArgumentError("max_basis", max_basis, f"at least k = {k}")
    first = operator.n_products
    generator = torch.Generator().manual_seed(seed)
    start = operator_probes(operator, block_size, generator, "gaussian")
    basis = _Basis(operator.dim, start, generator)
    block, _, _ = basis.orthonormalize(start, float(start.abs().max()))
    T = torch.zeros(capacity, capacity, dtype=torch.float64)
    steps, stop_rule = 0, "max_basis"
    while True:
        basis.blocks.append(block)
        size, width = basis.size, block.shape[0]
        images = torch.stack([operator.matvec(row) for row in block])
        offset = 0
        for stored in basis.blocks:
            coefficients = _pair_products(stored, images).cpu()
            T[offset : offset + stored.shape[0], size - width : size] = coefficients
            T[size - width : size, offset : offset + stored.shape[0]] = coefficients.T
            images = images - coefficients.T.to(images) @ stored
            offset += stored.shape[0]
        diagonal = T[size - width : size, size - width : size]
        T[size - width : size, size - width : size] = (diagonal + diagonal.T) / 2
        steps += 1
        theta, vectors = torch.linalg.eigh(T[:size, :size])
        scale = max(float(theta.abs().max()), torch.finfo(torch.float64).tiny)
        chosen = _select(theta, min(k, size), which)
        last = size + block_size > capacity
        block, R, vanished = basis.orthonormalize(images, scale, replace=not last)
        residuals = (R @ vectors[size - width : size, chosen]).norm(dim=0)
        if vanished == width and size >= k:
            stop_rule = "invariant_subspace"
            break
        if size >= k and bool((residuals <= tol * scale).all()):
            stop_rule = "residual"
            break
        if last:
            break
    coefficients = vectors[:, chosen].to(operator.dtype)
    ritz = torch.zeros(len(chosen), operator.dim, dtype=operator.dtype, device=operator.device)
    offset = 0
    for stored in basis.blocks:
        ritz = ritz + coefficients[offset : offset + stored.shape[0]].T.to(ritz.device) @ stored
        offset += stored.shape[0]
    return Eigenpairs(
        values=theta[chosen],
        vectors=ritz,
        residuals=residuals,
        converged=stop_rule != "max_basis" or bool((residuals <= tol * scale).all()),
        stop_rule=stop_rule,
        block_steps=steps,
        basis_size=basis.size,
        n_products=operator.n_products - first,
        which=which,
    )
