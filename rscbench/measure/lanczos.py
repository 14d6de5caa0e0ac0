"""Thick-restart Lanczos for the extreme eigenvalues of symmetric operators, stopping at the tolerance asked.

One routine serves every eigenvalue in rscbench: it runs B independent problems in lock step
(vectors of shape (B, s)), so a batch of per-probe Hessians costs one batched product per step.
Power iteration is kept only as the baseline the benchmarks compare against.

- Stopping (rscbench.measure.ritz): each extreme Ritz value carries an error bound, its residual,
  or the Kato-Temple bound rho^2 / gap once the gap to the next Ritz value is resolved (and
  confirmed by the next step). A problem stops when the bound of its ``target`` is <= tol times
  the norm estimate max |theta|: "largest", "smallest", "both" ends, or "norm" (the spectral norm
  max |lambda|, for which only the end of larger magnitude has to converge and the other must be
  certainly smaller).
- Bounded work per step: the basis holds at most ``max_basis`` vectors. When it is full, the run
  restarts thick (Wu and Simon): the basis becomes the RESTART_KEEP Ritz vectors nearest the
  wanted ends plus the next Lanczos vector, and the projected matrix becomes diagonal with an
  arrow row, so the Ritz values converge on without starting over.
- Selective reorthogonalization: each new vector's components along the basis are measured (one
  pass over the basis) and removed only where one exceeds sqrt(eps) of its norm (a second pass
  when that removed much of it). Semi-orthogonality at sqrt(eps) keeps the projected matrix equal
  to the projection of the operator to working precision (Simon 1984), at about half the vector
  traffic of full reorthogonalization at every step.

Numerics: vectors stay in the operator's dtype; the scalars that enter the projected matrix are
carried in float64 (rscbench.measure.krylov).

Memory, counted in vectors of length s of the operator's dtype, per problem: the basis grows in
blocks of BASIS_BLOCK vectors up to min(max_basis, s, max_iter); a restart holds RESTART_KEEP more
until it is done; WORK_VECTORS working vectors come on top (the current vector, its image and two
temporaries); the caller holds the start block. ``lanczos_vectors`` states that bound;
rscbench.measure.memory turns it into bytes. The operator's own memory comes on top.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.krylov import BASIS_BLOCK, KrylovBasis, inner_product, project_out, random_start
from rscbench.measure.ritz import EndBounds, norm_error

__all__ = [
    "BASIS_BLOCK",
    "BOUNDS",
    "DEFAULT_MAX_BASIS",
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
    "restart_keep",
]

BatchedMatvec = Callable[[Tensor], Tensor]
DEFAULT_MAX_ITER = 256
"""Step cap (operator products) of every Lanczos run; memory does not grow with it."""
DEFAULT_MAX_BASIS = 32
"""Basis vectors a run holds before it restarts: what bounds its memory and its work per step."""
TARGETS = ("both", "largest", "smallest", "norm")
BOUNDS = ("kato_temple", "residual")
"""The error bound a run stops on: Kato-Temple where the gap is resolved (else the residual), or the
residual alone."""
WORK_VECTORS = 4
"""Vectors of length s that one Lanczos problem holds besides its basis (q, A q and two temporaries)."""


def basis_capacity(max_basis: int, size: int, max_iter: int | None = None) -> int:
    """The most Lanczos vectors one problem stores at once: max_basis, at most ``size`` (and the steps)."""
    capacity = min(max_basis, size)
    return capacity if max_iter is None else min(capacity, max_iter)


def restart_keep(capacity: int) -> int:
    """Ritz vectors a thick restart keeps out of a full basis of ``capacity`` vectors (about half)."""
    return max(1, capacity // 2)


def lanczos_vectors(
    size: int,
    *,
    max_basis: int = DEFAULT_MAX_BASIS,
    max_iter: int = DEFAULT_MAX_ITER,
    steps: int | None = None,
) -> int:
    """Vectors of length ``size`` one problem of ``lanczos`` holds at its peak: basis plus work vectors.

    The basis holds at most capacity = basis_capacity(max_basis, size, max_iter) vectors, and a
    restart (possible when max_iter > capacity) restart_keep(capacity) more while it runs. With
    ``steps`` (the products a run took) the count for that run: a run that never filled its basis
    holds its blocks, min(ceil(steps / BASIS_BLOCK) * BASIS_BLOCK, capacity).
    """
    capacity = basis_capacity(max_basis, size, max_iter)
    restarts = max_iter > capacity and capacity < size
    peak = capacity + (restart_keep(capacity) if restarts else 0)
    if steps is not None and steps <= capacity:
        peak = min(-(-steps // BASIS_BLOCK) * BASIS_BLOCK, capacity)
    return peak + WORK_VECTORS


@dataclass(frozen=True)
class LanczosResult:
    """Extreme Ritz values of B symmetric operators, each with its error bound.

    All tensors have a leading dimension B. Ritz values lie inside the spectrum, so
    lambda_max >= ``lambda_max`` and lambda_min <= ``lambda_min``. ``residual_max``/``residual_min``
    are the Ritz residuals (some eigenvalue lies within them); ``error_max``/``error_min`` the error
    bounds used to stop (the residual, or Kato-Temple where the gap was resolved), so
    lambda_max <= lambda_max + error_max and lambda_min >= lambda_min - error_min.
    ``stop_rule`` says why each problem stopped: "kato_temple" or "residual" (the target's bound
    <= tol * norm, by the rule that gave it), "invariant_subspace" (the Krylov space is invariant:
    the values are exact), "value_change" (neither extreme Ritz value moved more than tol * norm
    over ``patience`` steps; no certificate, opt-in) or "max_iter" (not converged). ``iterations``
    counts the operator products, ``restarts`` the thick restarts. ``last_change`` is the relative
    move of the value-change rule at the stop (NaN before ``patience`` steps). ``history`` (B, k, 2)
    holds the (smallest, largest) Ritz values after each step (NaN after a problem stopped).
    ``projected`` (B, c, c) is the operator projected on the basis at the stop, valid up to
    ``basis_size``; ``basis`` the Lanczos vectors when asked for (one problem only).
    """

    lambda_max: Tensor
    lambda_min: Tensor
    residual_max: Tensor
    residual_min: Tensor
    error_max: Tensor
    error_min: Tensor
    iterations: Tensor
    converged: Tensor
    stop_rule: tuple[str, ...]
    last_change: Tensor
    restarts: Tensor
    history: Tensor
    projected: Tensor
    basis_size: Tensor
    basis: KrylovBasis | None

    @property
    def norm(self) -> Tensor:
        """Estimate of the spectral norm max |lambda|, per problem (float64)."""
        return torch.maximum(self.lambda_max.abs(), self.lambda_min.abs())

    @property
    def error_norm(self) -> Tensor:
        """Bound on the error of ``norm``, per problem (rscbench.measure.ritz.norm_error)."""
        return norm_error(self.lambda_min, self.lambda_max, self.error_min, self.error_max)


@dataclass(frozen=True)
class PowerResult:
    """Power-iteration estimate of the eigenvalue of largest magnitude (signed Rayleigh quotient)."""

    value: float
    residual: float
    iterations: int
    converged: bool


def _check(
    start: Tensor, tol: float, max_iter: int, max_basis: int, target: str, bound: str, patience, keep_basis
) -> None:
    if start.dim() != 2:
        raise InvalidArgumentError("start.shape", tuple(start.shape), "(B, s), a block of start vectors")
    if not 0 < tol < 1:
        raise InvalidArgumentError("tol", tol, "a number in (0, 1)")
    require_integer("max_iter", max_iter, 1)
    require_integer("max_basis", max_basis, 4)
    if target not in TARGETS:
        raise InvalidArgumentError("target", target, "one of " + ", ".join(TARGETS))
    if bound not in BOUNDS:
        raise InvalidArgumentError("bound", bound, "one of " + ", ".join(BOUNDS))
    if patience is not None and patience < 1:
        raise InvalidArgumentError("patience", patience, "None or an integer >= 1")
    if keep_basis and start.shape[0] != 1:
        raise InvalidArgumentError("keep_basis", keep_basis, "True only for a single problem (B = 1)")


def _kept_columns(capacity: int, target: str) -> list[int]:
    """Positions (in ascending Ritz order) of the Ritz vectors a restart keeps for ``target``."""
    keep = restart_keep(capacity)
    if target == "largest":
        return list(range(capacity - keep, capacity))
    if target == "smallest":
        return list(range(keep))
    low = keep // 2
    return list(range(low)) + list(range(capacity - (keep - low), capacity))


def _selective_reorthogonalization(
    basis: KrylovBasis, w: Tensor, orthogonal_to: Tensor | None, threshold: float
) -> Tensor:
    """Remove w's basis components in place where one exceeds ``threshold`` times ||w||; return ||w||.

    One pass measures the components; a removal pass follows only when needed, and a second
    removal where the first took away much of w (Kahan and Parlett's "twice is enough").
    """
    before = inner_product(w, w).sqrt()
    coefficients = basis.coefficients(w)
    if not bool((coefficients.abs() > threshold * before[:, None]).any()):
        return before
    project_out(basis.subtract(w, coefficients), orthogonal_to)
    after = inner_product(w, w).sqrt()
    if bool((after < before / math.sqrt(2)).any()):
        project_out(basis.subtract(w, basis.coefficients(w)), orthogonal_to)
        after = inner_product(w, w).sqrt()
    return after


def lanczos(
    matvec: BatchedMatvec,
    start: Tensor,
    *,
    tol: float = 1e-3,
    max_iter: int = DEFAULT_MAX_ITER,
    max_basis: int = DEFAULT_MAX_BASIS,
    patience: int | None = None,
    target: str = "both",
    bound: str = "kato_temple",
    orthogonal_to: Tensor | None = None,
    keep_basis: bool = False,
) -> LanczosResult:
    """Extreme eigenvalues of B symmetric operators by thick-restart Lanczos (module docstring).

    ``matvec`` maps a block of vectors (B, s) to the block of their images; ``start`` (B, s) is the
    start block. Each problem stops on its own as soon as the error bound of its ``target``
    ("largest", "smallest", "both" ends, or "norm"; the bound by the rule ``bound``: "kato_temple",
    the default, or "residual") is <= tol times its norm estimate
    max |theta|, or (when ``patience`` is given) neither extreme Ritz value moved more than
    tol * norm over the last ``patience`` steps, or the Krylov space became invariant; the batch
    stops when every problem has, or after ``max_iter`` products. ``orthogonal_to`` (B, s), unit
    rows, restricts each operator to the orthogonal complement of that vector (P A P).

    Memory: at most B * lanczos_vectors(s, max_basis=..., max_iter=...) vectors of length s in
    start's dtype, besides ``matvec``'s own; to fit a budget, lower ``max_basis``.
    """
    _check(start, tol, max_iter, max_basis, target, bound, patience, keep_basis)
    batch, size = start.shape
    capacity = basis_capacity(max_basis, size, max_iter)
    kept = torch.tensor(_kept_columns(capacity, target), device=start.device)
    dtype, device = start.dtype, start.device
    eps = torch.finfo(dtype).eps
    f64 = {"dtype": torch.float64, "device": device}
    basis = KrylovBasis(batch, size, start, capacity=capacity)
    projected = torch.zeros(batch, capacity, capacity, **f64)
    at_stop = torch.zeros_like(projected)
    basis_size = torch.zeros(batch, dtype=torch.long, device=device)
    bounds = EndBounds(batch, device, kato_temple=bound == "kato_temple")
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    iterations = torch.zeros(batch, dtype=torch.long, device=device)
    restarts = torch.zeros(batch, dtype=torch.long, device=device)
    values = torch.zeros(batch, 6, **f64)  # max, min, residual max, residual min, error max, error min
    last_change = torch.full((batch,), float("nan"), **f64)
    rules = ["max_iter"] * batch
    history: list[Tensor] = []
    threshold = math.sqrt(eps)

    q = project_out(start.clone(), orthogonal_to)
    q = q / inner_product(q, q).sqrt().clamp_min(torch.finfo(torch.float64).tiny).to(dtype)[:, None]
    arrow = 0  # vectors the current one is coupled to beyond its predecessor (after a restart)
    for step in range(max_iter):
        j = basis.count
        basis.append(q)
        w = project_out(
            matvec(q if orthogonal_to is None else project_out(q.clone(), orthogonal_to)), orthogonal_to
        )
        alpha = inner_product(q, w)
        projected[:, j, j] = alpha
        w.addcmul_(alpha.to(dtype)[:, None], q, value=-1.0)
        if arrow:
            basis.subtract(w, projected[:, j, :arrow])
        elif j > 0:
            w.addcmul_(projected[:, j, j - 1].to(dtype)[:, None], basis.vector(j - 1), value=-1.0)
        beta = _selective_reorthogonalization(basis, w, orthogonal_to, threshold)
        count = j + 1

        theta, vectors = torch.linalg.eigh(projected[:, :count, :count])
        residuals = beta[:, None] * vectors[:, -1, :].abs()
        norm = torch.maximum(theta[:, 0].abs(), theta[:, -1].abs())
        errors, trusted = bounds.update(theta, residuals, 8 * eps * norm, tol * norm, ~done)
        extremes = torch.stack([theta[:, 0], theta[:, -1]], dim=1)
        history.append(torch.where(done[:, None], torch.full_like(extremes, float("nan")), extremes))
        change = (
            (extremes - history[-1 - patience]).abs().amax(dim=1)
            / norm.clamp_min(torch.finfo(torch.float64).tiny)
            if patience is not None and step >= patience
            else torch.full_like(norm, float("nan"))
        )
        active = ~done
        values[active] = torch.stack(
            [theta[:, -1], theta[:, 0], residuals[:, -1], residuals[:, 0], errors[:, 1], errors[:, 0]], dim=1
        )[active]
        iterations[active] = step + 1
        last_change[active] = change[active]
        at_stop[active] = projected[active]
        basis_size[active] = count

        norm_bound = norm_error(theta[:, 0], theta[:, -1], errors[:, 0], errors[:, 1])
        target_error, deciding = {
            "both": (torch.maximum(errors[:, 0], errors[:, 1]), trusted.any(dim=1)),
            "largest": (errors[:, 1], trusted[:, 1]),
            "smallest": (errors[:, 0], trusted[:, 0]),
            "norm": (norm_bound, trusted.any(dim=1)),
        }[target]
        met = target_error <= tol * norm
        stops = {
            "invariant_subspace": (beta <= 10 * eps * norm * size**0.5) | torch.full_like(met, count == size),
            "kato_temple": met & deciding,
            "residual": met,
            "value_change": change <= tol,
        }
        for rule, hit in stops.items():
            for b in torch.nonzero(hit & ~done).flatten().tolist():
                rules[b] = rule
            done |= hit
        if bool(done.all()) or step + 1 == max_iter:
            break
        q = (w / beta.clamp_min(torch.finfo(torch.float64).tiny).to(dtype)[:, None]).masked_fill_(
            done[:, None], 0.0
        )
        if count < capacity:
            projected[:, count, j] = projected[:, j, count] = beta
            arrow = 0
            continue
        # Thick restart: keep the Ritz vectors nearest the wanted ends; the next vector couples to
        # each kept one through beta times the last component of its eigenvector.
        chosen = vectors[:, :, kept]
        basis.restart(chosen)
        arrow = kept.numel()
        projected.zero_()
        diagonal = torch.arange(arrow, device=device)
        projected[:, diagonal, diagonal] = theta[:, kept]
        coupling = beta[:, None] * chosen[:, -1, :]
        projected[:, arrow, :arrow] = coupling
        projected[:, :arrow, arrow] = coupling
        restarts[~done] += 1

    return LanczosResult(
        lambda_max=values[:, 0],
        lambda_min=values[:, 1],
        residual_max=values[:, 2],
        residual_min=values[:, 3],
        error_max=values[:, 4],
        error_min=values[:, 5],
        iterations=iterations,
        converged=done.clone(),
        stop_rule=tuple(rules),
        last_change=last_change,
        restarts=restarts,
        history=torch.stack(history, dim=1),
        projected=at_stop,
        basis_size=basis_size,
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
