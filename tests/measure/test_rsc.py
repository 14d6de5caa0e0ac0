"""Restricted curvature (Q6), the RSC certificate, the secant check (Q7) and the theorem's alpha (Q8).

The exact cone minimum is solved densely here by an independent method: on the boundary
|z_0| = kappa the constrained problem is a trust-region problem whose multiplier is the smallest
real eigenvalue of the 2k x 2k matrix [[T, -I], [-g g^T / r^2, T]] (Gander, Golub, von Matt 1989).
"""

import math

import numpy as np
import pytest
import torch

from dense import dense_hessian, dense_jacobian, not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import loss_function
from rscbench.measure.ntk import ntk_gram
from rscbench.measure.params import FlatLayout, detached_params
from rscbench.measure.rsc import (
    average_predictor_gradient,
    cone_curvature,
    cone_lower_bound,
    cone_minimum,
    restricted_curvature,
    rsc_certificate,
    secant_check,
    theorem_alpha,
)
from rscbench.measure.spectrum import HessianExtremes
from rscbench.models import paper_mlp


def dense_cone_minimum(H: np.ndarray, axis: np.ndarray, kappa: float) -> float:
    """min u^T H u over unit u with |u . axis| >= kappa, by eigenvalues (interior) and the GGvM pencil."""
    values, vectors = np.linalg.eigh(H)
    if abs(vectors[:, 0] @ axis) >= kappa and values[1] - values[0] > 1e-9:
        return float(values[0])
    p = H.shape[0]
    basis = np.linalg.svd(np.eye(p) - np.outer(axis, axis))[0][:, : p - 1]
    T = basis.T @ H @ basis
    g = kappa * (basis.T @ H @ axis)
    r2 = 1 - kappa**2
    k = p - 1
    pencil = np.block([[T, -np.eye(k)], [-np.outer(g, g) / r2, T]])
    roots = np.linalg.eigvals(pencil)
    shift = min(root.real for root in roots if abs(root.imag) < 1e-9)
    w = -np.linalg.solve(T - shift * np.eye(k), g)
    boundary = kappa**2 * (axis @ H @ axis) + 2 * g @ w + w @ T @ w
    interior = float(values[0]) if abs(vectors[:, 0] @ axis) >= kappa else math.inf
    return float(min(boundary, interior))


def square_case(model: torch.nn.Module, n: int = 6, d: int = 3, seed: int = 0, target_scale: float = 1.0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    X = X * d**0.5 / X.norm(dim=1, keepdim=True)
    y = target_scale * torch.randn(n, generator=generator, dtype=torch.float64)
    return X, y


MODELS = {
    "paper-tanh": lambda: paper_mlp(3, 5, 2, "tanh", 1.0, seed=2).double(),
    "paper-softplus-sigma3": lambda: paper_mlp(3, 4, 2, "softplus", 3.0, seed=1).double(),
    "not-ours": lambda: not_our_model(3),
}


@pytest.mark.parametrize("kappa", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("model_name", MODELS)
def test_lower_le_exact_cone_minimum_le_upper(model_name: str, kappa: float) -> None:
    model = MODELS[model_name]()
    X, y = square_case(model)
    fn, params = loss_function(model, X, y), detached_params(model)
    direction = average_predictor_gradient(model, X)
    layout = FlatLayout(params)
    H = dense_hessian(fn, params).numpy()
    axis = layout.flatten(direction).numpy()
    exact = dense_cone_minimum(H, axis / np.linalg.norm(axis), kappa)
    result = restricted_curvature(fn, params, direction, kappa=kappa, tol=1e-6)
    slack = 1e-9 * np.abs(H).max()
    assert result.lower <= exact + slack
    assert exact <= result.upper + slack
    assert result.lower <= result.upper


def test_upper_is_exact_when_the_krylov_space_is_everything() -> None:
    model = MODELS["paper-tanh"]()
    X, y = square_case(model)
    fn, params = loss_function(model, X, y), detached_params(model)
    direction = average_predictor_gradient(model, X)
    H = dense_hessian(fn, params).numpy()
    axis = FlatLayout(params).flatten(direction).numpy()
    exact = dense_cone_minimum(H, axis / np.linalg.norm(axis), 0.5)
    result = restricted_curvature(fn, params, direction, kappa=0.5, tol=1e-12, max_iter=200)
    assert result.upper == pytest.approx(exact, abs=1e-9 * np.abs(H).max())


def test_cone_minimum_matches_the_pencil_method() -> None:
    rng = np.random.default_rng(0)
    for kappa in (0.1, 0.5, 0.95):
        A = rng.standard_normal((9, 9))
        M = A + A.T
        value, z = cone_minimum(M, kappa)
        assert value == pytest.approx(dense_cone_minimum(M, np.eye(9)[0], kappa), abs=1e-10)
        assert abs(z[0]) >= kappa - 1e-12 and np.linalg.norm(z) == pytest.approx(1.0, abs=1e-10)


def test_cone_minimum_hard_case_and_kappa_one() -> None:
    M = np.diag([3.0, -1.0, 2.0])
    value, _z = cone_minimum(M, 0.5)
    assert value == pytest.approx(0.25 * 3.0 + 0.75 * -1.0, abs=1e-12)
    assert cone_minimum(M, 1.0)[0] == pytest.approx(3.0)


def test_cone_lower_bound_closed_form_matches_a_grid() -> None:
    for a, b, mu, kappa in [
        (1.0, 0.5, -0.3, 0.5),
        (-0.2, 2.0, 0.4, 0.1),
        (0.5, 0.0, 1.0, 0.7),
        (2.0, 1.0, -3.0, 0.99),
    ]:
        c = np.linspace(kappa, 1.0, 200_001)
        grid = np.min(c**2 * a - 2 * c * np.sqrt(1 - c**2) * b + (1 - c**2) * mu)
        # The grid step is < 5e-6, so the grid minimum is within ~1e-9 of the true minimum.
        assert cone_lower_bound(a, b, mu, kappa) == pytest.approx(grid, abs=1e-8)
        assert cone_lower_bound(a, b, mu, kappa) <= grid + 1e-15


CERTIFICATE_CASES = {
    # name: (model, n, target scale, loss); "wide-few" has dim S < p (a complement where H = 0)
    "tanh": (lambda: paper_mlp(3, 5, 2, "tanh", 1.0, seed=2).double(), 6, 0.1, "square"),
    "wide-few": (lambda: paper_mlp(3, 9, 3, "tanh", 1.0, seed=4).double(), 3, 0.3, "square"),
    "softplus-logistic": (lambda: paper_mlp(3, 8, 2, "softplus", 2.0, seed=1).double(), 4, 1.0, "logistic"),
    "gelu-depth1": (lambda: paper_mlp(3, 7, 1, "gelu", 1.0, seed=3).double(), 3, 1.0, "square"),
}


@pytest.mark.parametrize("space", ["full", "structured"])
@pytest.mark.parametrize("case", CERTIFICATE_CASES)
def test_gauss_newton_split_and_bounds_against_dense(case: str, space: str) -> None:
    build, n, scale, loss = CERTIFICATE_CASES[case]
    model = build()
    X, y = square_case(model, n=n, target_scale=scale)
    if loss == "logistic":
        y = torch.where(y >= 0, 1.0, -1.0).double()
    fn, params = loss_function(model, X, y, loss), detached_params(model)
    certificate = rsc_certificate(model, X, y, loss=loss, kappa=0.5, tol=1e-8, space=space)
    assert certificate.space == space and certificate.converged
    J = dense_jacobian(model, X)
    f = model(X).detach()
    curvature = {"square": torch.full_like(f, 2.0), "logistic": torch.sigmoid(y * f) * torch.sigmoid(-y * f)}
    G = J.T @ torch.diag(curvature[loss] / n) @ J
    H = dense_hessian(fn, params)
    lambda_min_r = torch.linalg.eigvalsh(H - G)[0].item()
    g_bar = J.mean(0)
    scale_h = H.abs().max().item()
    assert certificate.g_bar_sqnorm == pytest.approx((g_bar @ g_bar).item(), rel=1e-10)
    assert certificate.lambda_min_R == pytest.approx(lambda_min_r, abs=1e-7 * scale_h)
    assert certificate.lambda_min_R <= lambda_min_r + 1e-12
    assert certificate.curvature.lambda_min_H == pytest.approx(
        torch.linalg.eigvalsh(H)[0].item(), abs=1e-7 * scale_h
    )
    assert certificate.lower_gn == pytest.approx(
        certificate.min_loss_curvature * 0.25 * certificate.g_bar_sqnorm + certificate.lambda_min_R
    )
    axis = (g_bar / g_bar.norm()).numpy()
    exact = dense_cone_minimum(H.numpy(), axis, 0.5)
    slack = 1e-9 * scale_h
    assert certificate.lower <= exact + slack and exact <= certificate.upper + slack
    assert certificate.lower == max(certificate.lower_gn, certificate.lower_generic)


@pytest.mark.parametrize("kappa", [0.2, 0.5, 0.9])
def test_structured_cone_bounds_bracket_the_exact_cone_minimum(kappa: float) -> None:
    build, n, scale, _ = CERTIFICATE_CASES["wide-few"]
    model = build()
    X, y = square_case(model, n=n, target_scale=scale)
    H = dense_hessian(loss_function(model, X, y), detached_params(model)).numpy()
    axis = dense_jacobian(model, X).mean(0).numpy()
    exact = dense_cone_minimum(H, axis / np.linalg.norm(axis), kappa)
    bounds = rsc_certificate(model, X, y, kappa=kappa, tol=1e-10, max_iter=400, space="structured").curvature
    slack = 1e-9 * np.abs(H).max()
    assert bounds.lower <= exact + slack <= bounds.upper + 2 * slack
    # The Krylov space spans all of S here, and the complement is represented: the upper bound is exact.
    assert bounds.upper == pytest.approx(exact, abs=1e-8 * np.abs(H).max())


def test_certificate_holds_where_theory_says_and_fails_where_it_does_not() -> None:
    # Wide smooth network near a small residual: the Gauss-Newton term dominates, RSC is certified.
    wide = paper_mlp(3, 64, 1, "tanh", 1.0, seed=0).double()
    X, _ = square_case(wide, n=8)
    y = wide(X).detach() + 0.01
    assert rsc_certificate(wide, X, y, kappa=0.5).holds
    # Large residual and strong curvature (sigma1 = 4, targets far from the outputs): not certified.
    rough = paper_mlp(3, 4, 2, "tanh", 4.0, seed=1).double()
    X, y = square_case(rough, n=8, target_scale=30.0)
    certificate = rsc_certificate(rough, X, y, kappa=0.5)
    assert not certificate.holds and certificate.upper < 0


def test_logistic_loss_uses_its_own_curvature() -> None:
    model = MODELS["paper-tanh"]()
    X, _ = square_case(model)
    y = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0, -1.0], dtype=torch.float64)
    certificate = rsc_certificate(model, X, y, loss="logistic", kappa=0.5, tol=1e-8)
    f = model(X).detach()
    expected = (torch.sigmoid(y * f) * torch.sigmoid(-y * f)).min().item()
    assert certificate.min_loss_curvature == pytest.approx(expected, rel=1e-12)


def test_g_bar_identity_with_the_ntk() -> None:
    model = paper_mlp(3, 8, 3, "gelu", 1.0, seed=4).double()
    X, _ = square_case(model, n=9)
    K = ntk_gram(model, X)
    g_bar = average_predictor_gradient(model, X)
    sqnorm = sum((g**2).sum() for g in g_bar.values()).item()
    assert sqnorm == pytest.approx((K.sum() / 81).item(), rel=1e-12)


def test_secant_check_inside_vs_outside_the_cone() -> None:
    model = paper_mlp(3, 6, 2, "tanh", 1.0, seed=3).double()
    X, y = square_case(model, n=6, target_scale=0.1)
    fn, params = loss_function(model, X, y), detached_params(model)
    direction = average_predictor_gradient(model, X)
    first = secant_check(fn, params, direction, kappa=0.5, rho2=0.05, n_samples=16, seed=3)
    again = secant_check(fn, params, direction, kappa=0.5, rho2=0.05, n_samples=16, seed=3)
    assert first == again
    assert first.n_samples == 16 and 0 <= first.fraction_nonpositive_outside <= 1
    # At a tiny radius the secant curvature is the Hessian quadratic form: it is above the cone minimum.
    H = dense_hessian(fn, params).numpy()
    axis = FlatLayout(params).flatten(direction).numpy()
    exact = dense_cone_minimum(H, axis / np.linalg.norm(axis), 0.5)
    assert first.min_inside >= exact - 0.05 * np.abs(H).max()
    assert first.min_outside >= np.linalg.eigvalsh(H)[0] - 0.05 * np.abs(H).max()


def test_theorem_alpha_formula() -> None:
    result = theorem_alpha(
        g_bar_sqnorm=0.5, width=100, kappa=0.5, c_hessian=2.0, rho_grad=1.5, rho2=1.0, loss_value=4.0
    )
    c2 = 2 * 2.0 * (2 * 1.5 * 1.0 + 2.0)
    assert result.c2 == pytest.approx(c2)
    assert result.alpha_t == pytest.approx(2 * 0.25 * 0.5 - c2 / 10)
    assert result.width_threshold == pytest.approx((c2 / (2 * 0.25 * 0.5)) ** 2)
    assert not result.positive and "c2" in result.formula
    at_threshold = theorem_alpha(
        g_bar_sqnorm=0.5,
        width=round(result.width_threshold) + 1,
        kappa=0.5,
        c_hessian=2.0,
        rho_grad=1.5,
        rho2=1.0,
        loss_value=4.0,
    )
    assert at_threshold.positive


@pytest.mark.parametrize("kappa", [0.0, -0.5, 1.5, float("nan")])
def test_kappa_outside_the_unit_interval_is_refused(kappa: float) -> None:
    model = MODELS["paper-tanh"]()
    X, y = square_case(model)
    with pytest.raises(InvalidArgumentError) as error:
        rsc_certificate(model, X, y, kappa=kappa)
    assert error.value.argument == "kappa" and "(0, 1]" in str(error.value)


def test_zero_direction_and_bad_secant_arguments_are_refused() -> None:
    model = MODELS["paper-tanh"]()
    X, y = square_case(model)
    fn, params = loss_function(model, X, y), detached_params(model)
    zero = {name: torch.zeros_like(value) for name, value in params.items()}
    with pytest.raises(InvalidArgumentError) as error:
        restricted_curvature(fn, params, zero)
    assert error.value.argument == "direction"
    direction = average_predictor_gradient(model, X)
    for kwargs, argument in (({"rho2": 0.0}, "rho2"), ({"n_samples": 0}, "n_samples")):
        with pytest.raises(InvalidArgumentError) as error:
            secant_check(fn, params, direction, **kwargs)
        assert error.value.argument == argument


def test_cross_entropy_is_refused_by_the_certificate_only() -> None:
    model = paper_mlp(3, 5, 2, "tanh", 1.0, out_dim=3).double()
    X, _ = square_case(model)
    with pytest.raises(InvalidArgumentError) as error:
        rsc_certificate(model, X, torch.zeros(6, dtype=torch.long), loss="cross_entropy")
    assert error.value.argument == "loss"


def solid_cone_minimum(H: np.ndarray, kappa: float) -> float:
    """min of u^T H u over unit u = c e_0 + v + (a unit direction where H = 0) with c >= kappa, H
    positive definite on the rest: min over c of c^2 H_00 + min_{||v|| <= sqrt(1 - c^2)} (2 c b.v +
    v^T T v), the inner problem in closed form (interior or secular equation), c on a refined grid."""
    a, b, T = H[0, 0], H[1:, 0], H[1:, 1:]
    mu, Q = np.linalg.eigh(T)

    def value(c: float) -> float:
        g = c * (Q.T @ b)
        radius = math.sqrt(max(0.0, 1 - c * c))
        if np.linalg.norm(g / mu) <= radius:
            return c * c * a - float(np.sum(g**2 / mu))
        low, high = 0.0, float(np.linalg.norm(g)) / max(radius, 1e-300)
        for _ in range(200):  # ||(T + shift)^-1 g|| = radius, bisection on shift >= 0
            shift = (low + high) / 2
            low, high = (shift, high) if np.linalg.norm(g / (mu + shift)) > radius else (low, shift)
        w = -g / (mu + high)
        return c * c * a + 2 * float(g @ w) + float(w @ (mu * w))

    grid = np.linspace(kappa, 1.0, 2001)
    best = grid[int(np.argmin([value(c) for c in grid]))]
    step = grid[1] - grid[0]
    fine = np.linspace(max(kappa, best - step), min(1.0, best + step), 2001)
    return min(value(c) for c in fine)


@pytest.mark.parametrize("kappa", [0.3, 0.7])
def test_the_complement_of_a_subspace_enters_both_cone_bounds(kappa: float) -> None:
    # H positive definite on a 6-dimensional space S inside a larger parameter space, 0 outside:
    # the exact cone minimum is that of H with one more zero row and column, and lambda_min(H) = 0.
    generator = torch.Generator().manual_seed(5)
    basis = torch.linalg.qr(torch.randn(6, 6, generator=generator, dtype=torch.float64))[0]
    H = basis @ torch.diag(torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0, 4.0], dtype=torch.float64)) @ basis.T
    axis = torch.zeros(6, dtype=torch.float64)
    axis[0] = 1.0
    options = {"project": lambda v: v, "kappa": kappa, "tol": 1e-12, "max_iter": 50, "seed": 0}
    inside = cone_curvature(lambda v: H @ v, axis, complement=False, **options)
    outside = cone_curvature(lambda v: H @ v, axis, complement=True, **options)
    exact_inside = dense_cone_minimum(H.numpy(), axis.numpy(), kappa)
    exact_outside = solid_cone_minimum(H.numpy(), kappa)
    assert exact_outside < exact_inside
    assert inside.upper == pytest.approx(exact_inside, abs=1e-10)
    assert outside.upper == pytest.approx(exact_outside, abs=1e-10)
    assert outside.lower <= exact_outside + 1e-12 and outside.lambda_min_H == pytest.approx(0.0, abs=1e-12)
    assert inside.lambda_min_H == pytest.approx(1.0, abs=1e-9)


def test_including_zero_folds_the_complement_into_the_extremes() -> None:
    negative = HessianExtremes(
        lambda_max=-0.5, lambda_min=-2.0, norm=2.0, residual_max=1e-3, residual_min=1e-3,
        error_max=0.7, error_min=1e-4, error_norm=1e-4, n_hvp=5, iterations=5, converged=True,
        stop_rule="residual", last_change=float("nan"),
    )  # fmt: skip
    folded = negative.including_zero()
    assert (folded.lambda_max, folded.residual_max) == (0.0, 0.0)
    assert folded.error_max == pytest.approx(0.2)  # the top could be 0.2 above 0
    assert (folded.lambda_min, folded.norm) == (-2.0, 2.0) and folded.error_min == pytest.approx(1e-4)
