"""Lanczos with full reorthogonalization for the extreme eigenvalues of symmetric operators.

One routine serves every eigenvalue in rscbench: it runs B independent problems in lock step
(vectors of shape (B, s)), so a batch of per-probe Hessians costs one batched product per step.
Power iteration is kept only as the baseline the benchmarks compare against.

Numerics: the vectors stay in the operator's dtype; inner products and norms use pairwise
summation and are carried in float64, as is the tridiagonal matrix (float32 BLAS dot products over
~2M entries carry up to ~3e-5 relative error, enough to push a Ritz value above lambda_max).
Reorthogonalization is classical Gram-Schmidt against the whole basis, with a second pass when
the first removed much of the vector (Kahan-Parlett "twice is enough").

Memory, counted in vectors of length s of the operator's dtype, per problem: the Lanczos basis
grows in blocks of ``BASIS_BLOCK`` vectors as steps are taken and never holds more than
min(max_iter, s) vectors (the last block is cut to that capacity), so a run of k steps holds
min(ceil(k / BASIS_BLOCK) * BASIS_BLOCK, max_iter, s) basis vectors plus ``WORK_VECTORS`` working
vectors (the current vector, its image and two temporaries of an update); the caller holds the
start block. ``lanczos_vectors`` states that bound; rscbench.measure.memory turns it into bytes and
derives a step cap from a memory budget. The operator's own memory (a Hessian-vector product's
graph) comes on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError, require_integer

__all__ = [
    "BASIS_BLOCK",
    "DEFAULT_MAX_ITER",
    "TARGETS",
    "WORK_VECTORS",
    "KrylovBasis",
    "LanczosResult",
    "PowerResult",
    "basis_capacity",
    "inner_product",
    "lanczos",
    "lanczos_vectors",
    "power_iteration",
    "random_start",
    "tridiagonal",
]

BatchedMatvec = Callable[[Tensor], Tensor]
BASIS_BLOCK = 8
DEFAULT_MAX_ITER = 128
"""Step cap of every Lanczos run; memory grows with the steps taken, up to this cap."""
TARGETS = ("both", "largest", "smallest")
WORK_VECTORS = 4
"""Vectors of length s that one Lanczos problem holds besides its basis (q, A q and two temporaries)."""


def basis_capacity(max_iter: int, size: int) -> int:
    """The most Lanczos vectors one problem can store: one per step, at most ``size`` steps."""
    return min(max_iter, size)


def lanczos_vectors(max_iter: int, size: int, steps: int | None = None) -> int:
    """Vectors of length ``size`` one problem of ``lanczos`` holds at its peak: basis plus work vectors.

    With ``steps`` None the bound for any run with this ``max_iter``: min(max_iter, size) basis
    vectors + WORK_VECTORS. With ``steps`` (the iterations a run took) the basis as allocated for
    that run: min(ceil(steps / BASIS_BLOCK) * BASIS_BLOCK, max_iter, size) + WORK_VECTORS.
    """
    capacity = basis_capacity(max_iter, size)
    if steps is None:
        return capacity + WORK_VECTORS
    return min(-(-steps // BASIS_BLOCK) * BASIS_BLOCK, capacity) + WORK_VECTORS


class KrylovBasis:
    """Orthonormal Lanczos vectors of B problems, stored in blocks of BASIS_BLOCK rows (B, block, s).

    ``capacity`` (None: unbounded) caps the vectors stored: the last block is cut to it and an
    append beyond it is refused, so the basis never holds more than ``capacity`` vectors.
    """

    def __init__(self, batch: int, size: int, like: Tensor, *, capacity: int | None = None) -> None:
        self.batch, self.size, self._like = batch, size, like
        self.capacity = capacity
        self.blocks: list[Tensor] = []
        self.count = 0

    @property
    def allocated(self) -> int:
        """Vectors per problem the blocks hold room for (stored or not yet)."""
        return sum(block.shape[1] for block in self.blocks)

    def append(self, vectors: Tensor) -> None:
        """Store the next vector of every problem (shape (B, s))."""
        if self.capacity is not None and self.count >= self.capacity:
            raise InvalidArgumentError("Krylov basis size", self.count + 1, f"at most {self.capacity}")
        if self.count % BASIS_BLOCK == 0:
            rows = BASIS_BLOCK if self.capacity is None else min(BASIS_BLOCK, self.capacity - self.count)
            self.blocks.append(self._like.new_zeros(self.batch, rows, self.size))
        self.blocks[-1][:, self.count % BASIS_BLOCK] = vectors
        self.count += 1

    def vector(self, index: int) -> Tensor:
        """Vector ``index`` of every problem, shape (B, s)."""
        return self.blocks[index // BASIS_BLOCK][:, index % BASIS_BLOCK]

    def remove_components(self, w: Tensor) -> Tensor:
        """w minus its projection on the span of the stored vectors (one Gram-Schmidt pass)."""
        for block in self.blocks:
            w = w - torch.bmm(block.transpose(1, 2), torch.bmm(block, w[:, :, None]))[:, :, 0]
        return w

    def combine(self, coefficients: Tensor) -> Tensor:
        """sum_j coefficients[:, j] * vector j, for coefficients of shape (B, k), k <= count."""
        total = torch.zeros(self.batch, self.size, dtype=self._like.dtype, device=self._like.device)
        for index in range(coefficients.shape[1]):
            total = total + coefficients[:, index, None].to(total.dtype) * self.vector(index)
        return total


@dataclass(frozen=True)
class LanczosResult:
    """Extreme Ritz values of B symmetric operators, each with its error certificate.

    All tensors have a leading dimension B. ``residual_max`` bounds |theta - lambda| for some
    eigenvalue lambda of the operator (the Ritz residual |beta_k s_k|); Ritz values always lie
    inside the spectrum, so lambda_max >= ``lambda_max`` and lambda_min <= ``lambda_min``.
    ``stop_rule`` says why each problem stopped: "residual" (the targeted extreme residuals
    <= tol * norm),
    "value_change" (neither extreme Ritz value moved more than tol * norm over ``patience`` steps;
    no certificate, opt-in),
    "invariant_subspace" (the Krylov space is invariant: the values are exact), or "max_iter"
    (not converged). ``last_change`` is that relative move at the stop (NaN before ``patience``
    steps). ``alphas``/``betas`` hold the tridiagonal matrix, ``basis`` the Lanczos vectors when
    asked for; row b is valid up to ``iterations[b]``.
    """

    lambda_max: Tensor
    lambda_min: Tensor
    residual_max: Tensor
    residual_min: Tensor
    iterations: Tensor
    converged: Tensor
    stop_rule: tuple[str, ...]
    last_change: Tensor
    alphas: Tensor
    betas: Tensor
    basis: KrylovBasis | None

    @property
    def norm(self) -> Tensor:
        """Estimate of the spectral norm max |lambda|, per problem (float64)."""
        return torch.maximum(self.lambda_max.abs(), self.lambda_min.abs())


@dataclass(frozen=True)
class PowerResult:
    """Power-iteration estimate of the eigenvalue of largest magnitude (signed Rayleigh quotient)."""

    value: float
    residual: float
    iterations: int
    converged: bool


def random_start(
    batch: int, size: int, *, seed: int, dtype: torch.dtype, device: torch.device | str
) -> Tensor:
    """A (batch, size) Gaussian start block drawn on the CPU from ``seed`` (the same on every device)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, size, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)


def tridiagonal(alphas: Tensor, betas: Tensor) -> Tensor:
    """Symmetric tridiagonal matrices: diagonals ``alphas`` (B, k), off-diagonals ``betas`` (B, k-1)."""
    matrix = torch.diag_embed(alphas)
    if betas.shape[-1]:
        matrix = matrix + torch.diag_embed(betas, offset=1) + torch.diag_embed(betas, offset=-1)
    return matrix


def inner_product(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise inner products by torch's pairwise summation, returned in float64.

    Pairwise summation has error ~log2(s) eps instead of the ~s eps of a BLAS dot: at s = 2.1M in
    float32, 3e-8 relative against 1e-7 to 3e-5 for torch.dot, at 4x less time than summing with
    dtype=float64 (measured: 2.5 ms, 0.6 ms, 8.9 ms).
    """
    return (a * b).sum(dim=-1).to(torch.float64)


def _project_out(vectors: Tensor, units: Tensor | None) -> Tensor:
    if units is None:
        return vectors
    return vectors - inner_product(units, vectors).to(vectors.dtype)[:, None] * units


def lanczos(
    matvec: BatchedMatvec,
    start: Tensor,
    *,
    tol: float = 1e-3,
    max_iter: int = DEFAULT_MAX_ITER,
    patience: int | None = None,
    target: str = "both",
    orthogonal_to: Tensor | None = None,
    keep_basis: bool = False,
) -> LanczosResult:
    """Extreme eigenvalues of B symmetric operators by Lanczos with full reorthogonalization.

    ``matvec`` maps a block of vectors (B, s) to the block of their images; ``start`` (B, s) is the
    start block. Each problem stops on its own as soon as the Ritz residual of its ``target``
    extreme ("largest", "smallest", or "both" ends) is <= tol times its norm estimate
    max |theta|, or (when ``patience`` is given) neither extreme Ritz value moved more than
    tol * norm over the last ``patience`` steps, or the Krylov space became invariant; the batch
    stops when every problem has. ``orthogonal_to`` (B, s), unit rows, restricts each operator to
    the orthogonal complement of that vector (the operator is applied as P A P).

    Memory: at most B * lanczos_vectors(max_iter, s) vectors of length s in start's dtype (the
    basis, capped at min(max_iter, s) vectors, plus WORK_VECTORS), besides ``matvec``'s own; to
    fit a budget, lower ``max_iter`` (rscbench.measure.memory.lanczos_step_cap).
    """
    if start.dim() != 2:
        raise InvalidArgumentError("start.shape", tuple(start.shape), "(B, s), a block of start vectors")
    if not 0 < tol < 1:
        raise InvalidArgumentError("tol", tol, "a number in (0, 1)")
    require_integer("max_iter", max_iter, 1)
    if target not in TARGETS:
        raise InvalidArgumentError("target", target, "one of " + ", ".join(TARGETS))
    if patience is not None and patience < 1:
        raise InvalidArgumentError("patience", patience, "None or an integer >= 1")
    batch, size = start.shape
    capacity = basis_capacity(max_iter, size)
    dtype = start.dtype
    basis = KrylovBasis(batch, size, start, capacity=capacity)
    alphas = torch.zeros(batch, capacity, dtype=torch.float64, device=start.device)
    betas = torch.zeros_like(alphas)
    done = torch.zeros(batch, dtype=torch.bool, device=start.device)
    iterations = torch.zeros(batch, dtype=torch.long, device=start.device)
    values = torch.zeros(batch, 4, dtype=torch.float64, device=start.device)
    last_change = torch.full((batch,), float("nan"), dtype=torch.float64, device=start.device)
    rules = ["max_iter"] * batch
    extreme_history: list[Tensor] = []
    tiny = torch.finfo(dtype).eps

    q = _project_out(start, orthogonal_to)
    q = q / inner_product(q, q).sqrt().clamp_min(torch.finfo(torch.float64).tiny).to(dtype)[:, None]
    for step in range(capacity):
        basis.append(q)
        w = _project_out(matvec(_project_out(q, orthogonal_to)), orthogonal_to)
        alpha = inner_product(q, w)
        w = w - alpha.to(dtype)[:, None] * q
        if step > 0:
            w = w - betas[:, step - 1].to(dtype)[:, None] * basis.vector(step - 1)
        # Classical Gram-Schmidt, repeated only where a pass removed much of w ("twice is enough":
        # Kahan and Parlett's criterion, a second pass when the norm dropped below 1/sqrt(2)).
        before = inner_product(w, w).sqrt()
        w = _project_out(basis.remove_components(w), orthogonal_to)
        beta = inner_product(w, w).sqrt()
        if bool((beta < before / 2**0.5).any()):
            w = _project_out(basis.remove_components(w), orthogonal_to)
            beta = inner_product(w, w).sqrt()
        alphas[:, step], betas[:, step] = alpha, beta

        theta, vectors = torch.linalg.eigh(tridiagonal(alphas[:, : step + 1], betas[:, :step]))
        res_min = (beta * vectors[:, step, 0]).abs()
        res_max = (beta * vectors[:, step, -1]).abs()
        norm = torch.maximum(theta[:, 0].abs(), theta[:, -1].abs())
        extremes = torch.stack([theta[:, 0], theta[:, -1]], dim=1)
        extreme_history.append(extremes)
        change = (
            (extremes - extreme_history[-1 - patience]).abs().amax(dim=1)
            / norm.clamp_min(torch.finfo(torch.float64).tiny)
            if patience is not None and step >= patience
            else torch.full_like(norm, float("nan"))
        )
        active = ~done
        values[active] = torch.stack([theta[:, -1], theta[:, 0], res_max, res_min], dim=1)[active]
        iterations[active] = step + 1
        last_change[active] = change[active]

        stops = {
            "invariant_subspace": beta <= 10 * tiny * norm * size**0.5,
            "residual": {"both": torch.maximum(res_min, res_max), "largest": res_max, "smallest": res_min}[
                target
            ]
            <= tol * norm,
            "value_change": change <= tol,
        }
        for rule, hit in stops.items():
            for b in torch.nonzero(hit & ~done).flatten().tolist():
                rules[b] = rule
            done |= hit
        if bool(done.all()):
            break
        q = (w / beta.clamp_min(tiny).to(dtype)[:, None]).masked_fill_(done[:, None], 0.0)

    return LanczosResult(
        lambda_max=values[:, 0],
        lambda_min=values[:, 1],
        residual_max=values[:, 2],
        residual_min=values[:, 3],
        iterations=iterations,
        converged=done.clone(),
        stop_rule=tuple(rules),
        last_change=last_change,
        alphas=alphas,
        betas=betas,
        basis=basis if keep_basis else None,
    )


def power_iteration(
    matvec: Callable[[Tensor], Tensor],
    start: Tensor,
    *,
    tol: float = 1e-3,
    max_iter: int = 1000,
    rule: str = "residual",
    reference: float | None = None,
) -> PowerResult:
    """Baseline: power iteration on a flat vector, for the eigenvalue of largest magnitude.

    Stopping ``rule``: "residual" (||A v - theta v|| <= tol |theta|, a real certificate), "change"
    (|theta_k - theta_{k-1}| <= tol |theta_k|, the common rule that stops early), or "oracle"
    (|theta_k - reference| <= tol |reference|, needs the answer; for benchmarks only). Each
    iteration costs one product; memory: three vectors.
    """
    rules = ("residual", "change", "oracle")
    if rule not in rules:
        raise InvalidArgumentError("rule", rule, "one of " + ", ".join(rules))
    if rule == "oracle" and reference is None:
        raise InvalidArgumentError("reference", reference, "a float when rule='oracle'")
    v = start / inner_product(start, start).sqrt().to(start.dtype)
    previous = float("nan")
    theta, residual = 0.0, float("inf")
    for iteration in range(1, max_iter + 1):
        w = matvec(v)
        theta = float(inner_product(v, w))
        residual = float(inner_product(w - theta * v, w - theta * v).sqrt())
        scale = abs(reference) if rule == "oracle" else abs(theta)
        gap = {
            "residual": residual,
            "change": abs(theta - previous),
            "oracle": abs(theta - reference) if reference is not None else 0.0,
        }[rule]
        if gap <= tol * scale:
            return PowerResult(theta, residual, iteration, True)
        previous = theta
        v = w / inner_product(w, w).sqrt().to(w.dtype)
    return PowerResult(theta, residual, max_iter, False)
