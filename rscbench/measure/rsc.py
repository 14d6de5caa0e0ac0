"""Restricted strong convexity: curvature of the loss on the cone around the average gradient (Q5-Q8).

The restricted set at theta_t is the cone Q_kappa = {u : |cos(u, g)| >= kappa} around a direction g
(the average predictor gradient g_bar for the paper's condition). Three measurements:

- ``restricted_curvature``: certified lower and upper bounds on
  alpha_local = min {u^T H u : ||u|| = 1, |u . u_g| >= kappa}, H the loss Hessian, for any loss.
- ``rsc_certificate``: the same plus the Gauss-Newton bound that follows the paper's mechanism.
- ``secant_check``: the finite-radius secant curvature inside the cone, with the outside control.
- ``theorem_alpha``: the theorem's alpha_t evaluated with measured constants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.curvature_operators import gauss_newton_operator
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.lanczos import DEFAULT_MAX_ITER, inner_product, lanczos, random_start, tridiagonal
from rscbench.measure.losses import get_loss, loss_function
from rscbench.measure.params import ScalarFn, detached_params, model_function, scalar_output

__all__ = [
    "THEOREM_ALPHA_FORMULA",
    "RestrictedCurvature",
    "RscCertificate",
    "SecantCheck",
    "TheoremAlpha",
    "average_predictor_gradient",
    "check_kappa",
    "check_radius",
    "cone_lower_bound",
    "cone_minimum",
    "restricted_curvature",
    "rsc_certificate",
    "secant_check",
    "theorem_alpha",
]


def check_kappa(kappa: float) -> None:
    """Raise InvalidArgumentError unless 0 < kappa <= 1 (the cone's half-width as a cosine)."""
    if not (isinstance(kappa, (int, float)) and 0 < kappa <= 1):
        raise InvalidArgumentError("kappa", kappa, "a number in (0, 1]")


def check_radius(rho2: float) -> None:
    """Raise InvalidArgumentError unless rho2 is a finite number > 0 (the restricted ball's radius)."""
    if isinstance(rho2, bool) or not (isinstance(rho2, (int, float)) and math.isfinite(rho2) and rho2 > 0):
        raise InvalidArgumentError("rho2", rho2, "a finite number > 0")


def cone_lower_bound(a: float, b_norm: float, mu: float, kappa: float) -> float:
    """min over c in [kappa, 1] of c^2 a - 2 c sqrt(1 - c^2) ||b|| + (1 - c^2) mu, in closed form.

    With u = c u_g + s w (w unit, orthogonal to u_g, s = sqrt(1 - c^2)), u^T H u >= that expression
    whenever a = u_g^T H u_g, b = P H u_g and mu <= lambda_min(P H P) on the complement. Writing
    c = cos t, the expression is (a + mu)/2 + R cos(2t + phi) with R = sqrt(((a - mu)/2)^2 + ||b||^2),
    so its minimum over t in [0, arccos kappa] is at an end or at 2t + phi = pi.
    """
    check_kappa(kappa)
    t_max = math.acos(min(1.0, kappa))

    def value(t: float) -> float:
        return a * math.cos(t) ** 2 - b_norm * math.sin(2 * t) + mu * math.sin(t) ** 2

    candidates = [value(0.0), value(t_max)]
    phase = math.atan2(b_norm, (a - mu) / 2)
    t_star = (math.pi - phase) / 2
    if 0.0 <= t_star <= t_max:
        candidates.append((a + mu) / 2 - math.hypot((a - mu) / 2, b_norm))
    return min(candidates)


def cone_minimum(matrix: np.ndarray, kappa: float) -> tuple[float, np.ndarray]:
    """Exact min of z^T M z over unit z with |z_0| >= kappa, and a minimizer z (dense, float64).

    If the bottom eigenspace of M holds a feasible vector, the answer is lambda_min(M). Otherwise
    the minimum lies on the boundary |z_0| = kappa, where it is the trust-region problem
    min_w kappa^2 M_00 + 2 kappa c^T w + w^T T w over ||w|| = sqrt(1 - kappa^2) (c = M[1:, 0],
    T = M[1:, 1:]), solved by the secular equation (with the hard case handled).
    """
    check_kappa(kappa)
    matrix = np.asarray(matrix, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    scale = max(1.0, float(np.abs(eigenvalues).max()))
    bottom = eigenvectors[:, eigenvalues <= eigenvalues[0] + 1e-12 * scale]
    axis_in_bottom = bottom @ bottom[0]
    if np.linalg.norm(axis_in_bottom) >= kappa:
        return float(eigenvalues[0]), axis_in_bottom / np.linalg.norm(axis_in_bottom)
    radius = math.sqrt(max(0.0, 1.0 - kappa**2))
    if radius == 0.0:
        z = np.zeros(matrix.shape[0])
        z[0] = 1.0
        return float(matrix[0, 0]), z
    coupling = kappa * matrix[1:, 0]
    inner_values, inner_vectors = np.linalg.eigh(matrix[1:, 1:])
    gamma = inner_vectors.T @ coupling
    lowest = inner_values[0]
    degenerate = inner_values <= lowest + 1e-12 * scale
    coefficients = np.zeros_like(gamma)
    coefficients[~degenerate] = -gamma[~degenerate] / (inner_values[~degenerate] - lowest)
    slack = radius**2 - float(coefficients @ coefficients)
    if np.linalg.norm(gamma[degenerate]) <= 1e-12 * max(1.0, float(np.linalg.norm(gamma))) and slack >= 0:
        # Hard case: the boundary minimizer has a free component in T's bottom eigenspace.
        coefficients[np.argmax(degenerate)] = math.sqrt(slack)
    else:
        # Secular equation sum gamma_i^2 / (lambda_i - shift)^2 = radius^2 for shift < lambda_min(T);
        # its left side increases with shift and is <= radius^2 at lowest - ||gamma|| / radius.
        def secular(shift: float) -> float:
            return float(np.sum(gamma**2 / (inner_values - shift) ** 2)) - radius**2

        left = lowest - float(np.linalg.norm(gamma)) / radius
        step = (lowest - left) / 2
        while secular(lowest - step) <= 0 and step > np.finfo(float).tiny:
            step /= 2
        shift = brentq(secular, left, lowest - step, xtol=1e-300, rtol=4 * np.finfo(float).eps)
        coefficients = -gamma / (inner_values - shift)
    z = np.concatenate([[kappa], inner_vectors @ coefficients])
    return float(z @ matrix @ z), z


@dataclass(frozen=True)
class RestrictedCurvature:
    """Bounds on alpha_local = min {u^T H u : ||u|| = 1, |cos(u, direction)| >= kappa} (Q6).

    ``lower`` is certified: the larger of ``lower_cone`` (cone_lower_bound with a, ||b|| and the
    conservative lambda_min(P H P) = Ritz value minus residual) and ``lambda_min_H`` (Ritz value
    minus residual). ``upper`` is u^T H u evaluated at the exact cone minimizer inside the Krylov
    subspace span{u_g, K_k(P H P, b)}: a feasible point, so a true upper bound. Units: loss units
    per squared parameter units; larger lower is better (more curvature on the cone).
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
    Krylov basis at a time (the steps taken, see rscbench.measure.lanczos) plus about 8
    parameter-sized vectors and the gradient graph.
    """
    check_kappa(kappa)
    operator = HessianOperator(loss_fn, params, "reuse")
    axis = operator.layout.flatten(dict(direction)).to(operator.dtype)
    axis_norm = float(axis.double().norm())
    if not math.isfinite(axis_norm) or axis_norm == 0.0:
        raise InvalidArgumentError(
            "direction", f"a vector of norm {axis_norm}", "a finite non-zero direction"
        )
    axis = axis / axis_norm
    h_axis = operator.matvec(axis)
    a = float(inner_product(axis, h_axis))
    b = h_axis - a * axis
    b_norm = float(inner_product(b, b).sqrt())
    start = (
        b[None] if b_norm > 0 else random_start(1, operator.dim, seed=seed, dtype=b.dtype, device=b.device)
    )

    projected = lanczos(
        lambda block: operator.matvec(block[0])[None],
        start,
        tol=tol,
        max_iter=max_iter,
        target="smallest",
        orthogonal_to=axis[None],
        keep_basis=True,
    )
    mu = float(projected.lambda_min[0] - projected.residual_min[0])
    steps = int(projected.iterations[0])
    krylov = tridiagonal(projected.alphas[:, :steps], projected.betas[:, : steps - 1])[0].cpu().numpy()
    reduced = np.zeros((steps + 1, steps + 1))
    reduced[0, 0] = a
    reduced[1:, 1:] = krylov
    reduced[0, 1] = reduced[1, 0] = b_norm if b_norm > 0 else 0.0
    _, z = cone_minimum(reduced, kappa)
    coefficients = torch.as_tensor(z[None, 1:], dtype=torch.float64, device=axis.device)
    candidate = z[0] * axis + projected.basis.combine(coefficients)[0]
    projected_converged = bool(projected.converged[0])
    del projected  # frees its Krylov basis before the second Lanczos builds one
    candidate_sq = float(inner_product(candidate, candidate))
    upper = float(inner_product(candidate, operator.matvec(candidate))) / candidate_sq

    full = lanczos(
        lambda block: operator.matvec(block[0])[None],
        random_start(1, operator.dim, seed=seed, dtype=b.dtype, device=b.device),
        tol=tol,
        max_iter=max_iter,
        target="smallest",
    )
    lambda_min_h = float(full.lambda_min[0] - full.residual_min[0])
    lower_cone = cone_lower_bound(a, b_norm, mu, kappa)
    return RestrictedCurvature(
        lower=max(lower_cone, lambda_min_h),
        upper=upper,
        lower_cone=lower_cone,
        lambda_min_H=lambda_min_h,
        a=a,
        b_norm=b_norm,
        lambda_min_PHP=mu,
        krylov_dim=steps + 1,
        n_hvp=operator.n_products,
        converged=projected_converged and bool(full.converged[0]),
    )


def average_predictor_gradient(model: nn.Module, X: Tensor) -> dict[str, Tensor]:
    """g_bar(theta) = (1/n) sum_i nabla_theta f(theta; x_i), as a dict shaped like the parameters (Q4).

    Units: output units per parameter unit. One backward pass of the mean prediction.
    """
    f = model_function(model)
    params = {name: value.clone().requires_grad_(True) for name, value in detached_params(model).items()}
    mean = scalar_output(f, params, X).mean()
    grads = torch.autograd.grad(mean, list(params.values()), allow_unused=True)
    return {
        name: (torch.zeros_like(value) if g is None else g).detach()
        for (name, value), g in zip(params.items(), grads, strict=True)
    }


@dataclass(frozen=True)
class RscCertificate:
    """Restricted strong convexity at the current parameters, on the cone around g_bar (Q6).

    ``lower_gn`` = (min_i l''_i) kappa^2 ||g_bar||^2 + lambda_min(R), the Gauss-Newton bound with
    R = (1/n) sum_i l'_i nabla^2 f_i (lambda_min_R conservative: Ritz value minus residual);
    ``lower_generic`` and ``upper`` come from restricted_curvature. ``lower`` = the largest valid
    bound; ``holds`` iff lower > 0. Units: loss units per squared parameter unit.
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
) -> RscCertificate:
    """Certify RSC of the loss at the model's parameters on the cone around g_bar (Q6).

    For a scalar-output loss (square without the 1/2, logistic). The Gauss-Newton product
    G u = (1/n) J^T diag(l'') J u is taken matrix-free by a jvp and a vjp
    (rscbench.measure.curvature_operators.gauss_newton_operator), and lambda_min(R) by Lanczos on
    u -> H u - G u. Memory: that of restricted_curvature, then (after it is freed) one
    more Krylov basis (the steps taken) plus about 6 parameter-sized vectors.
    """
    check_kappa(kappa)
    chosen = get_loss(loss)
    if not chosen.scalar_output:
        raise InvalidArgumentError(
            "loss", loss, "a scalar-output loss for rsc_certificate: square or logistic"
        )
    loss_fn = loss_function(model, X, y, loss)
    params = detached_params(model)
    g_bar = average_predictor_gradient(model, X)
    curvature = restricted_curvature(
        loss_fn, params, g_bar, kappa=kappa, tol=tol, max_iter=max_iter, seed=seed
    )

    operator = HessianOperator(loss_fn, params, "reuse")
    layout = operator.layout
    gauss_newton = gauss_newton_operator(model, X, y, loss)

    def residual_matvec(block: Tensor) -> Tensor:
        return (operator.matvec(block[0]) - gauss_newton.matvec(block[0]))[None]

    start = random_start(1, layout.dim, seed=seed + 1, dtype=layout.dtype, device=layout.device)
    residual_part = lanczos(residual_matvec, start, tol=tol, max_iter=max_iter, target="smallest")
    lambda_min_r = float(residual_part.lambda_min[0] - residual_part.residual_min[0])
    g_bar_sqnorm = float(sum((g.double() ** 2).sum() for g in g_bar.values()))
    min_curvature = float(chosen.second(gauss_newton.outputs, y).min())
    lower_gn = min_curvature * kappa**2 * g_bar_sqnorm + lambda_min_r
    return RscCertificate(
        g_bar_sqnorm=g_bar_sqnorm,
        lambda_min_R=lambda_min_r,
        lower_gn=lower_gn,
        lower_generic=curvature.lower,
        lower=max(lower_gn, curvature.lower),
        upper=curvature.upper,
        min_loss_curvature=min_curvature,
        kappa=kappa,
        curvature=curvature,
        n_hvp=curvature.n_hvp + operator.n_products,
        converged=bool(curvature.converged and residual_part.converged[0]),
    )


@dataclass(frozen=True)
class SecantCheck:
    """Secant curvature 2 [L(theta') - L - <theta' - theta, grad L>] / ||theta' - theta||^2 (Q7).

    ``min_inside``/``fraction_nonpositive_inside`` over directions in the cone |cos| >= kappa;
    the ``_outside`` fields over directions with |cos| < kappa (the control). Loss units per
    squared parameter unit; larger is better.
    """

    min_inside: float
    fraction_nonpositive_inside: float
    min_outside: float
    fraction_nonpositive_outside: float
    n_samples: int


def secant_check(
    loss_fn: ScalarFn,
    params: Mapping[str, Tensor],
    direction: Mapping[str, Tensor],
    *,
    kappa: float = 0.5,
    rho2: float = 1.0,
    n_samples: int = 32,
    seed: int = 0,
) -> SecantCheck:
    """Sample n_samples directions inside and n_samples outside the cone, radii uniform in (0, rho2].

    A direction with |cos| = c is c u_g + sqrt(1 - c^2) w, w a uniform unit vector orthogonal to u_g;
    inside, c is uniform in [kappa, 1] with a random sign, outside uniform in [0, kappa). Every
    draw comes from a torch.Generator seeded with ``seed``. Costs 2 n_samples loss evaluations.
    """
    check_kappa(kappa)
    check_radius(rho2)
    require_integer("n_samples", n_samples, 1)
    operator = HessianOperator(loss_fn, params, "double_backward")
    layout = operator.layout
    theta = layout.flatten(dict(params))
    gradient = operator.gradient()
    axis = layout.flatten(dict(direction)).to(theta.dtype)
    axis = axis / axis.double().norm().to(axis.dtype)
    base = float(loss_fn(dict(params)))
    generator = torch.Generator().manual_seed(seed)

    def sample(low: float, high: float) -> list[float]:
        values = []
        for _ in range(n_samples):
            w = torch.randn(layout.dim, generator=generator, dtype=torch.float64).to(theta)
            w = w - (w * axis).sum() * axis
            w = w / w.norm()
            cosine = low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))
            sign = 1.0 if float(torch.rand((), generator=generator)) < 0.5 else -1.0
            radius = rho2 * (1.0 - float(torch.rand((), generator=generator, dtype=torch.float64)))
            step = radius * (sign * cosine * axis + math.sqrt(max(0.0, 1 - cosine**2)) * w)
            moved = float(loss_fn(layout.unflatten(theta + step)))
            linear = float(inner_product(step, gradient))
            values.append(2 * (moved - base - linear) / float(inner_product(step, step)))
        return values

    inside, outside = sample(kappa, 1.0), sample(0.0, kappa)
    return SecantCheck(
        min_inside=min(inside),
        fraction_nonpositive_inside=sum(v <= 0 for v in inside) / n_samples,
        min_outside=min(outside),
        fraction_nonpositive_outside=sum(v <= 0 for v in outside) / n_samples,
        n_samples=n_samples,
    )


THEOREM_ALPHA_FORMULA = (
    "alpha_t = 2 kappa^2 ||g_bar_t||^2 - c2 / sqrt(m),  c2 = 2 c_H (2 rho_grad rho2 + sqrt(c_loss)),  "
    "c_H = sqrt(m) max_probe ||nabla^2 f||, rho_grad = max_i ||nabla f(x_i)||, c_loss = L(theta_t)"
)


@dataclass(frozen=True)
class TheoremAlpha:
    """Theorem 5.1's restricted curvature for the square loss, with measured constants (Q8).

    ``alpha_t`` (loss units per squared parameter unit; > 0 means the theorem certifies RSC),
    ``c2``, ``width_threshold`` = (c2 / (2 kappa^2 ||g_bar||^2))^2 (the width above which alpha_t > 0
    if the measured constants stayed fixed; inf when ||g_bar|| = 0) and ``scaled_g_bar_sqnorm`` =
    sqrt(m) ||g_bar||^2, which the theory needs to grow with m. ``formula`` is the text used.
    """

    alpha_t: float
    c2: float
    width_threshold: float
    scaled_g_bar_sqnorm: float
    formula: str = THEOREM_ALPHA_FORMULA

    @property
    def positive(self) -> bool:
        """Whether the theorem's alpha_t is positive at the measured constants."""
        return self.alpha_t > 0


def theorem_alpha(
    *,
    g_bar_sqnorm: float,
    width: int,
    kappa: float,
    c_hessian: float,
    rho_grad: float,
    rho2: float,
    loss_value: float,
) -> TheoremAlpha:
    """Evaluate THEOREM_ALPHA_FORMULA (reconstructed from the paper; the one place to correct it)."""
    check_kappa(kappa)
    require_integer("width", width, 1)
    c2 = 2 * c_hessian * (2 * rho_grad * rho2 + math.sqrt(max(0.0, loss_value)))
    alpha = 2 * kappa**2 * g_bar_sqnorm - c2 / math.sqrt(width)
    threshold = (c2 / (2 * kappa**2 * g_bar_sqnorm)) ** 2 if g_bar_sqnorm > 0 else math.inf
    return TheoremAlpha(alpha, c2, threshold, math.sqrt(width) * g_bar_sqnorm)
