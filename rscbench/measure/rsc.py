"""Restricted strong convexity: curvature of the loss on the cone around the average gradient (Q5-Q8).

The restricted set at theta_t is the cone Q_kappa = {u : |cos(u, g)| >= kappa} around a direction g
(the average predictor gradient g_bar for the paper's condition). Three measurements:

- ``restricted_curvature``: certified lower and upper bounds on
  alpha_local = min {u^T H u : ||u|| = 1, |u . u_g| >= kappa}, H the loss Hessian, for any loss.
- ``rsc_certificate``: the same plus the Gauss-Newton bound that follows the paper's mechanism.
- ``secant_check`` (rscbench.measure.secant): the finite-radius secant curvature inside the cone,
  with the outside control.
- ``theorem_alpha`` (rscbench.measure.theorem): the theorem's alpha_t evaluated with measured constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError
from rscbench.measure.cone import check_kappa, cone_lower_bound, cone_minimum
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.krylov import inner_product, project_out, random_start
from rscbench.measure.lanczos import DEFAULT_MAX_ITER, LanczosResult, lanczos
from rscbench.measure.losses import get_loss
from rscbench.measure.neuron_blocks import NeuronBlockParts, neuron_block_parts, neuron_blocks_apply
from rscbench.measure.params import ScalarFn, detached_params, model_function, scalar_output
from rscbench.measure.secant import SecantCheck, check_radius, secant_check
from rscbench.measure.spaces import SPACES, average_predictor_gradient, loss_space
from rscbench.measure.theorem import THEOREM_ALPHA_FORMULA, TheoremAlpha, theorem_alpha

__all__ = [
    "CERTIFICATE_SPACES",
    "THEOREM_ALPHA_FORMULA",
    "ExtremeEstimate",
    "RestrictedCurvature",
    "RscCertificate",
    "SecantCheck",
    "TheoremAlpha",
    "average_predictor_gradient",
    "check_kappa",
    "check_radius",
    "cone_curvature",
    "cone_lower_bound",
    "cone_minimum",
    "restricted_curvature",
    "rsc_certificate",
    "secant_check",
    "theorem_alpha",
]


@dataclass(frozen=True)
class ExtremeEstimate:
    """One end of a spectrum from a Lanczos run: the Ritz value (with 0 added where the space has a
    complement), its one-sided error bound and residual, the products taken and how it stopped."""

    value: float
    error: float
    residual: float
    n_products: int
    converged: bool
    stop_rule: str

    @property
    def lower(self) -> float:
        """A lower bound on the smallest eigenvalue: value - error."""
        return self.value - self.error


def _smallest(
    matvec: Callable[[Tensor], Tensor],
    start: Tensor,
    *,
    complement: bool,
    tol: float,
    max_iter: int,
    orthogonal_to: Tensor | None = None,
    keep_basis: bool = False,
) -> tuple[ExtremeEstimate, LanczosResult]:
    """lambda_min of a symmetric operator on flat vectors by Lanczos, with 0 added when ``complement``."""
    result = lanczos(
        lambda block: matvec(block[0])[None],
        start[None],
        tol=tol,
        max_iter=max_iter,
        target="smallest",
        orthogonal_to=None if orthogonal_to is None else orthogonal_to[None],
        keep_basis=keep_basis,
    )
    value, error = float(result.lambda_min[0]), float(result.error_min[0])
    residual = float(result.residual_min[0])
    if complement and value >= 0:
        value, error, residual = 0.0, max(0.0, -(value - error)), 0.0
    estimate = ExtremeEstimate(
        value, error, residual, int(result.iterations[0]), bool(result.converged[0]), result.stop_rule[0]
    )
    return estimate, result


@dataclass(frozen=True)
class RestrictedCurvature:
    """Bounds on alpha_local = min {u^T H u : ||u|| = 1, |cos(u, direction)| >= kappa} (Q6).

    ``lower`` is certified: the larger of ``lower_cone`` (cone_lower_bound with a, ||b|| and the
    conservative lambda_min(P H P) = Ritz value minus its error bound) and ``lambda_min_H`` (the
    same for H). ``upper`` is u^T H u at a feasible point: the exact cone minimizer inside the
    Krylov subspace span{u_g, basis of the P H P run} (and, where the space has a complement, a
    direction outside it, where H is 0), pulled into the cone if rounding put it outside. Units:
    loss units per squared parameter units; larger lower is better (more curvature on the cone).
    ``php`` and ``hessian_min`` are the two Lanczos estimates behind them.
    """

    lower: float
    upper: float
    lower_cone: float
    lambda_min_H: float
    a: float
    b_norm: float
    lambda_min_PHP: float
    krylov_dim: int
    n_hvp: int
    converged: bool
    php: ExtremeEstimate
    hessian_min: ExtremeEstimate


def cone_curvature(
    hessian: Callable[[Tensor], Tensor],
    axis: Tensor,
    *,
    project: Callable[[Tensor], Tensor],
    complement: bool,
    kappa: float,
    tol: float,
    max_iter: int,
    seed: int,
) -> RestrictedCurvature:
    """restricted_curvature on flat vectors of any space: ``hessian`` its product, ``axis`` the unit
    direction in it, ``project`` maps a vector into it, ``complement`` whether H has the eigenvalue
    0 outside it (the structured subspace of rscbench.measure.spaces). Counts its own products."""
    calls = [0]

    def counted(vector: Tensor) -> Tensor:
        calls[0] += 1
        return hessian(vector)

    h_axis = counted(axis)
    a = float(inner_product(axis, h_axis))
    b = h_axis.sub_(a * axis)  # P H u_g, in place of H u_g
    b_norm = float(inner_product(b, b).sqrt())
    fresh = project(random_start(1, axis.numel(), seed=seed, dtype=axis.dtype, device=axis.device)[0])
    php, projected = _smallest(
        counted,
        b if b_norm > 0 else fresh,
        complement=complement,
        tol=tol,
        max_iter=max_iter,
        orthogonal_to=axis,
        keep_basis=True,
    )
    steps = int(projected.basis_size[0])
    upper = _feasible_upper(counted, projected, axis, a, b, kappa=kappa, complement=complement)
    del projected, b  # frees the Krylov basis before the second Lanczos builds one

    hessian_min, _ = _smallest(counted, fresh, complement=complement, tol=tol, max_iter=max_iter)
    lower_cone = cone_lower_bound(a, b_norm, php.lower, kappa)
    return RestrictedCurvature(
        lower=max(lower_cone, hessian_min.lower),
        upper=upper,
        lower_cone=lower_cone,
        lambda_min_H=hessian_min.lower,
        a=a,
        b_norm=b_norm,
        lambda_min_PHP=php.lower,
        krylov_dim=steps + 1,
        n_hvp=calls[0],
        converged=php.converged and hessian_min.converged,
        php=php,
        hessian_min=hessian_min,
    )


def _feasible_upper(
    hessian: Callable[[Tensor], Tensor],
    projected: LanczosResult,
    axis: Tensor,
    a: float,
    b: Tensor,
    *,
    kappa: float,
    complement: bool,
) -> float:
    """u^T H u / ||u||^2 at the exact cone minimizer of span{u_g, basis of ``projected``} (one product).

    The projected matrix is [[a, c^T], [c, T]] with c = V^T b and T that of the P H P run; where the
    space has a complement, one more coordinate stands for a unit vector outside it (H = 0 there).
    """
    steps = int(projected.basis_size[0])
    basis = projected.basis
    size = steps + 1 + int(complement)
    reduced = np.zeros((size, size))
    reduced[0, 0] = a
    reduced[1 : steps + 1, 1 : steps + 1] = projected.projected[0, :steps, :steps].cpu().numpy()
    coupling = basis.coefficients(b[None])[0].cpu().numpy()
    reduced[0, 1 : steps + 1] = coupling
    reduced[1 : steps + 1, 0] = coupling
    _, z = cone_minimum(reduced, kappa)
    rest = basis.combine(torch.as_tensor(z[None, 1 : steps + 1], dtype=torch.float64, device=axis.device))[0]
    project_out(rest[None], axis[None])
    rest_sq = float(inner_product(rest, rest)) + (float(z[-1]) ** 2 if complement else 0.0)
    along = float(z[0])
    # u = along u_g + s (rest + its part outside the space) is in the cone iff
    # s^2 rest_sq <= along^2 (1 - kappa^2) / kappa^2; s = 1 unless rounding left it outside.
    room = along**2 * (1 - kappa**2) / kappa**2
    s = min(1.0, math.sqrt(room / rest_sq)) if rest_sq > 0 else 0.0
    # u^T H u = along^2 a + 2 along s rest^T H u_g + s^2 rest^T H rest, and rest^T H u_g = rest^T b.
    quadratic = along**2 * a + 2 * along * s * float(inner_product(rest, b))
    quadratic += s**2 * float(inner_product(rest, hessian(rest)))
    return quadratic / (along**2 + s**2 * rest_sq)


def _unit_axis(axis: Tensor) -> Tensor:
    norm = float(inner_product(axis, axis).sqrt())
    if not math.isfinite(norm) or norm == 0.0:
        raise InvalidArgumentError("direction", f"a vector of norm {norm}", "a finite non-zero direction")
    return axis / norm


def restricted_curvature(
    loss_fn: ScalarFn,
    params: Mapping[str, Tensor],
    direction: Mapping[str, Tensor],
    *,
    kappa: float = 0.5,
    tol: float = 1e-3,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: int = 0,
) -> RestrictedCurvature:
    """Certified lower and upper bounds on the loss curvature over the cone around ``direction``.

    Runs two Lanczos processes on exact Hessian-vector products (gradient graph built once): one
    on P H P (P the projector orthogonal to u_g = direction / ||direction||) started from
    b = P H u_g, whose basis also spans the subspace of the upper bound, and one on H for
    lambda_min(H). The first basis is freed before the second Lanczos starts, so memory is one
    Krylov basis at a time (rscbench.measure.lanczos) plus about 8 parameter-sized vectors and the
    gradient graph.
    """
    check_kappa(kappa)
    operator = HessianOperator(loss_fn, params, "reuse")
    axis = _unit_axis(operator.layout.flatten(dict(direction)).to(operator.dtype))
    return cone_curvature(
        operator.matvec,
        axis,
        project=lambda vector: vector,
        complement=False,
        kappa=kappa,
        tol=tol,
        max_iter=max_iter,
        seed=seed,
    )


@dataclass(frozen=True)
class RscCertificate:
    """Restricted strong convexity at the current parameters, on the cone around g_bar (Q6).

    ``lower_gn`` = (min_i l''_i) kappa^2 ||g_bar||^2 + lambda_min(R), the Gauss-Newton bound with
    R = (1/n) sum_i l'_i nabla^2 f_i (lambda_min_R conservative: Ritz value minus its error
    bound); ``lower_generic`` and ``upper`` come from the cone bounds (RestrictedCurvature).
    ``lower`` = the largest valid bound; ``holds`` iff lower > 0. ``space`` is where Lanczos ran
    (rscbench.measure.spaces); ``residual_min`` is the Lanczos estimate of lambda_min(R). Units:
    loss units per squared parameter unit.
    """

    g_bar_sqnorm: float
    lambda_min_R: float
    lower_gn: float
    lower_generic: float
    lower: float
    upper: float
    min_loss_curvature: float
    kappa: float
    curvature: RestrictedCurvature
    n_hvp: int
    converged: bool
    residual_min: ExtremeEstimate
    space: str

    @property
    def holds(self) -> bool:
        """Whether RSC is certified at this point (lower bound > 0)."""
        return self.lower > 0


def rsc_certificate(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    *,
    loss: str = "square",
    kappa: float = 0.5,
    tol: float = 1e-3,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: int = 0,
    space: str = "auto",
) -> RscCertificate:
    """Certify RSC of the loss at the model's parameters on the cone around g_bar (Q6).

    For a scalar-output loss (square without the 1/2, logistic). ``space`` (CERTIFICATE_SPACES)
    says where: "neuron_blocks" is the exact per-neuron path of the paper's network at depth 1
    (rscbench.measure.neuron_blocks: lambda_min(R) exact, no Lanczos, time and memory linear in the
    width); otherwise every product is taken in the space rscbench.measure.spaces.loss_space picks:
    for the paper's network the structured subspace S that holds the range of H, G and R (vectors
    of length ~2 n L m + m, the eigenvalue 0 of the complement added), else parameter space, and
    Lanczos on R gives lambda_min(R). "auto" takes the per-neuron path wherever it applies
    (neuron_blocks_apply), else loss_space's own choice. Memory: on the per-neuron path
    rscbench.measure.neuron_blocks.neuron_certificate_bytes; else one Krylov basis of the space's
    vectors at a time plus a few such vectors; in parameter space about 9 parameter-sized vectors
    and the gradient graph (rscbench.measure.memory.rsc_bytes).
    """
    check_kappa(kappa)
    chosen = get_loss(loss)
    if not chosen.scalar_output:
        raise InvalidArgumentError(
            "loss", loss, "a scalar-output loss for rsc_certificate: square or logistic"
        )
    if space not in CERTIFICATE_SPACES:
        raise InvalidArgumentError("space", space, "one of " + ", ".join(CERTIFICATE_SPACES))
    if space == "neuron_blocks" or (space == "auto" and neuron_blocks_apply(model)):
        return _neuron_block_certificate(neuron_block_parts(model, X, y, loss), kappa)
    where = loss_space(model, X, y, loss, space)
    g_bar = where.mean_output_gradient()
    g_bar_sqnorm = float(inner_product(g_bar, g_bar))
    axis = _unit_axis(g_bar)
    del g_bar
    curvature = cone_curvature(
        where.hessian,
        axis,
        project=where.project,
        complement=where.complement,
        kappa=kappa,
        tol=tol,
        max_iter=max_iter,
        seed=seed,
    )
    start = random_start(1, where.size, seed=seed + 1, dtype=where.dtype, device=where.device)[0]
    residual_min, _ = _smallest(
        where.residual, where.project(start), complement=where.complement, tol=tol, max_iter=max_iter
    )
    with torch.no_grad():
        outputs = scalar_output(model_function(model), detached_params(model), X)
    min_curvature = float(chosen.second(outputs, y).min())
    lower_gn = min_curvature * kappa**2 * g_bar_sqnorm + residual_min.lower
    return RscCertificate(
        g_bar_sqnorm=g_bar_sqnorm,
        lambda_min_R=residual_min.lower,
        lower_gn=lower_gn,
        lower_generic=curvature.lower,
        lower=max(lower_gn, curvature.lower),
        upper=curvature.upper,
        min_loss_curvature=min_curvature,
        kappa=kappa,
        curvature=curvature,
        n_hvp=where.n_products,
        converged=curvature.converged and residual_min.converged,
        residual_min=residual_min,
        space=where.name,
    )


CERTIFICATE_SPACES = (*SPACES, "neuron_blocks")
"""Where rsc_certificate computes: rscbench.measure.spaces.SPACES ("auto", "full", "structured")
and "neuron_blocks", the exact per-neuron path of the paper's network at depth 1."""


def _exact(value: float) -> ExtremeEstimate:
    """An extreme computed exactly (no Lanczos): no error, no residual, no products."""
    return ExtremeEstimate(value, 0.0, 0.0, 0, True, "exact")


def _neuron_block_certificate(parts: NeuronBlockParts, kappa: float) -> RscCertificate:
    """The certificate from the exact per-neuron pieces of the depth-1 network.

    lambda_min(R) is exact; G is PSD, so it is also a valid lower bound on lambda_min(H) and on
    lambda_min(P H P) on the complement of u_g, which gives the generic cone bound; ``upper`` is
    the exact cone minimum inside span{u_g, P e, P H u_g} (e: R's bottom eigenvector), u^T H u at
    a feasible point.
    """
    smallest = parts.residual.value
    lower_cone = cone_lower_bound(parts.a, parts.b_norm, smallest, kappa)
    upper, _ = cone_minimum(parts.reduced, kappa)
    curvature = RestrictedCurvature(
        lower=max(lower_cone, smallest),
        upper=upper,
        lower_cone=lower_cone,
        lambda_min_H=smallest,
        a=parts.a,
        b_norm=parts.b_norm,
        lambda_min_PHP=smallest,
        krylov_dim=parts.reduced.shape[0],
        n_hvp=parts.n_products,
        converged=True,
        php=_exact(smallest),
        hessian_min=_exact(smallest),
    )
    lower_gn = parts.min_loss_curvature * kappa**2 * parts.g_bar_sqnorm + smallest
    return RscCertificate(
        g_bar_sqnorm=parts.g_bar_sqnorm,
        lambda_min_R=smallest,
        lower_gn=lower_gn,
        lower_generic=curvature.lower,
        lower=max(lower_gn, curvature.lower),
        upper=upper,
        min_loss_curvature=parts.min_loss_curvature,
        kappa=kappa,
        curvature=curvature,
        n_hvp=parts.n_products,
        converged=True,
        residual_min=_exact(smallest),
        space="neuron_blocks",
    )
