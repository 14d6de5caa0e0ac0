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
    cone_lower_bound,
    cone_minimum,
    restricted_curvature,
    rsc_certificate,
    secant_check,
    theorem_alpha,
)
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


def test_gauss_newton_split_and_bounds_against_dense() -> None:
    model = MODELS["paper-tanh"]()
    X, y = square_case(model, target_scale=0.1)
    fn, params = loss_function(model, X, y), detached_params(model)
    certificate = rsc_certificate(model, X, y, kappa=0.5, tol=1e-8)
    J = dense_jacobian(model, X)
    G = 2 * J.T @ J / X.shape[0]
    H = dense_hessian(fn, params)
    lambda_min_r = torch.linalg.eigvalsh(H - G)[0].item()
    g_bar = J.mean(0)
    assert certificate.g_bar_sqnorm == pytest.approx((g_bar @ g_bar).item(), rel=1e-12)
    assert certificate.lambda_min_R == pytest.approx(lambda_min_r, abs=1e-7)
    assert certificate.lambda_min_R <= lambda_min_r + 1e-12
    assert certificate.lower_gn == pytest.approx(
        2 * 0.25 * certificate.g_bar_sqnorm + certificate.lambda_min_R
    )
    axis = (g_bar / g_bar.norm()).numpy()
    exact = dense_cone_minimum(H.numpy(), axis, 0.5)
    assert certificate.lower <= exact + 1e-10 <= certificate.upper + 2e-10
    assert certificate.lower == max(certificate.lower_gn, certificate.lower_generic)


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
