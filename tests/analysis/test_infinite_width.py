"""The infinite-width references against closed forms, Monte Carlo, high-order quadrature and the
empirical NTK of the paper's network (whose relative error must shrink like m^-1/2)."""

import math

import numpy as np
import pytest
import torch
from torch.func import functional_call, jacrev

from rscbench.analysis.infinite_width import (
    arccos_kernel,
    conjugate_kernels,
    gaussian_expectation,
    input_kernel,
    ntk_limit,
    per_layer_factor,
)
from rscbench.data import load_dataset
from rscbench.errors import InvalidArgumentError
from rscbench.measure import ntk_gram
from rscbench.models.activations import ACTIVATIONS
from rscbench.models.paper_net import init_std, paper_mlp

SMOOTH = [name for name, act in ACTIVATIONS.items() if act.covered_by_theory]


def covariances() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid of 2 x 2 covariances: variances 0.05-2.5, correlations -0.99..1 (1 included)."""
    q11, rho = np.meshgrid(np.linspace(0.05, 2.5, 6), np.array([-0.99, -0.5, 0.0, 0.3, 0.9, 1.0]))
    q22 = 0.7 * q11 + 0.1
    return q11, rho * np.sqrt(q11 * q22), q22


def inputs(n: int = 12, d: int = 6) -> np.ndarray:
    return load_dataset("sphere", n=n, d=d, seed=0, targets=None).X.double().numpy()


@pytest.mark.parametrize(
    ("f", "exact"),
    [
        (lambda u: u, lambda q11, q12, q22: q12),
        (torch.exp, lambda q11, q12, q22: np.exp((q11 + q22) / 2 + q12)),
        # E[erf(a u) erf(a u')] = (2/pi) arcsin(2 a^2 q12 / sqrt((1 + 2 a^2 q11)(1 + 2 a^2 q22))), a = 0.6
        (
            lambda u: torch.erf(0.6 * u),
            lambda q11, q12, q22: (
                2 / math.pi * np.arcsin(2 * 0.36 * q12 / np.sqrt((1 + 2 * 0.36 * q11) * (1 + 2 * 0.36 * q22)))
            ),
        ),
    ],
    ids=["identity", "exp", "erf"],
)
def test_quadrature_matches_closed_forms(f, exact) -> None:
    q11, q12, q22 = covariances()
    got = gaussian_expectation(f, f, q11, q12, q22, order=48)
    np.testing.assert_allclose(got, exact(q11, q12, q22), rtol=1e-9, atol=1e-12)


def test_quadrature_of_a_wrong_integrand_is_caught() -> None:
    """The closed-form check can fail: a rule with the correlation dropped misses E[u u'] = q12."""
    q11, q12, q22 = covariances()
    got = gaussian_expectation(lambda u: u, lambda u: u, q11, np.zeros_like(q12), q22)
    assert np.abs(got - q12).max() > 0.5


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_registry_activation_matches_monte_carlo(name: str) -> None:
    """E[phi(u) phi(u')] and E[phi'(u) phi'(u')] (quadrature, or arc-cosine for ReLU) within 5 standard
    errors of 400k Gaussian samples."""
    q11, q12, q22 = 0.8, 0.35, 0.5
    generator = np.random.default_rng(3)
    z = generator.standard_normal((2, 400_000))
    a = math.sqrt(q11)
    u, v = a * z[0], q12 / a * z[0] + math.sqrt(q22 - q12**2 / q11) * z[1]
    fn = ACTIVATIONS[name].fn
    tu, tv = torch.from_numpy(u).requires_grad_(True), torch.from_numpy(v).requires_grad_(True)
    fu, fv = fn(tu), fn(tv)
    (du,), (dv,) = torch.autograd.grad(fu.sum(), tu), torch.autograd.grad(fv.sum(), tv)
    samples = {"value": (fu * fv).detach().numpy(), "slope": (du * dv).numpy()}
    X = np.array([[math.sqrt(q11), 0.0], [q12 / math.sqrt(q11), math.sqrt(q22 - q12**2 / q11)]])
    kernels, slopes = conjugate_kernels(X, name, 1.0, 1, scale_input=False)
    for key, got in (("value", kernels[1][0, 1]), ("slope", slopes[0][0, 1])):
        values = samples[key]
        error = values.std() / math.sqrt(values.size)
        assert abs(got - values.mean()) < 5 * error, (name, key)


@pytest.mark.parametrize("name", SMOOTH)
def test_default_order_against_order_160(name: str) -> None:
    X = inputs(16, 8)
    for sigma0, tolerance in ((0.45, 1e-10), (1.0, 2e-4)):
        low = conjugate_kernels(X, name, sigma0, 2)
        high = conjugate_kernels(X, name, sigma0, 2, order=160)
        for a, b in zip(low[0] + low[1], high[0] + high[1], strict=True):
            assert np.abs(a - b).max() <= tolerance * np.abs(b).max()


def test_relu_closed_form_against_high_order_quadrature() -> None:
    """Gauss-Hermite converges slowly across ReLU's kink (why the closed form is used) but does converge."""
    q11, q12, q22 = covariances()
    exact = arccos_kernel(q11, q12, q22, 1)
    errors = [
        np.abs(gaussian_expectation(torch.relu, torch.relu, q11, q12, q22, order=k) - exact).max()
        for k in (24, 96, 200)
    ]
    assert errors[2] < errors[1] < errors[0] and errors[2] < 3e-3
    np.testing.assert_allclose(arccos_kernel(q11, q11, q11, 1), q11 / 2)  # t = 0: E[relu(u)^2] = q/2
    np.testing.assert_allclose(arccos_kernel(q11, q12 * 0, q22, 0), 0.25)  # independent: 1/2 * 1/2


def test_input_kernel_and_bad_input() -> None:
    X = inputs()
    np.testing.assert_allclose(np.diag(input_kernel(X)), 1.0)  # the sqrt(d)-sphere
    with pytest.raises(InvalidArgumentError, match="X"):
        input_kernel(np.array([1.0, 2.0]))
    with pytest.raises(InvalidArgumentError, match="sigma0"):
        conjugate_kernels(X, "tanh", -1.0, 2)
    with pytest.raises(InvalidArgumentError, match="activation"):
        conjugate_kernels(X, "swish", 1.0, 2)


def test_per_layer_factor_of_an_exact_geometric_law() -> None:
    assert per_layer_factor([1, 2, 3, 4], [0.3**d for d in (1, 2, 3, 4)]) == pytest.approx(0.3)
    assert math.isnan(per_layer_factor([2, 2], [1.0, 2.0]))


def _w_block_gram(net, X: torch.Tensor) -> np.ndarray:
    params = {k: v.detach() for k, v in net.named_parameters()}
    weights = {k: v for k, v in params.items() if k != "v"}
    jac = jacrev(lambda w: functional_call(net, params | w, (X,)))(weights)
    flat = torch.cat([j.reshape(X.shape[0], -1) for j in jac.values()], dim=1)
    return (flat @ flat.T).numpy()


@pytest.mark.parametrize(("activation", "depth"), [("tanh", 1), ("tanh", 3), ("relu", 2)])
def test_w_block_term_matches_the_seed_average(activation: str, depth: int) -> None:
    """m times the W blocks of the empirical NTK, averaged over seeds, tends to W (the 1/m term)."""
    X = torch.from_numpy(inputs(8, 4))
    width = 512
    limit = ntk_limit(X.numpy(), activation, init_std(1.0, width), depth)[-1]
    grams = [
        _w_block_gram(paper_mlp(4, width, depth, activation, 1.0, seed=seed).double(), X) * width
        for seed in range(6)
    ]
    error = np.linalg.norm(np.mean(grams, axis=0) - limit.w_blocks) / np.linalg.norm(limit.w_blocks)
    assert error < 0.1


def ntk_error_slope(activation: str, depth: int, *, sigma0_of) -> tuple[float, dict[int, float]]:
    """Slope of log mean ||K - K_lim||_F / ||K_lim||_F against log m (4 seeds per width)."""
    X = torch.from_numpy(inputs(16, 8))
    errors = {}
    for width in (64, 256, 1024, 4096):
        limit = ntk_limit(X.numpy(), activation, sigma0_of(width), depth)[-1]
        reference = limit.at_width(width)
        trials = []
        for seed in range(4):
            gram = ntk_gram(paper_mlp(8, width, depth, activation, 1.0, seed=seed).double(), X).numpy()
            trials.append(np.linalg.norm(gram - reference) / np.linalg.norm(reference))
        errors[width] = float(np.mean(trials))
    widths = np.array(list(errors), dtype=float)
    return float(np.polyfit(np.log(widths), np.log(list(errors.values())), 1)[0]), errors


@pytest.mark.slow
@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("activation", ["tanh", "gelu", "relu"])
def test_empirical_ntk_converges_like_inverse_sqrt_width(activation: str, depth: int) -> None:
    """Measured slopes -0.456..-0.492 (tanh, gelu, relu at depths 1, 2); against the limit of
    sigma0 = sigma1/2 instead of each width's sigma0(m), the slopes are shallower (-0.33..-0.42): the
    init itself differs from that limit by sqrt(log m / (2m)) relative."""
    slope, errors = ntk_error_slope(activation, depth, sigma0_of=lambda m: init_std(1.0, m))
    assert -0.6 <= slope <= -0.4, errors
    assert errors[4096] < 0.1
    fixed, _ = ntk_error_slope(activation, depth, sigma0_of=lambda m: 0.5)
    assert fixed > slope + 0.04


def test_the_convergence_check_can_fail() -> None:
    """Against the wrong limit (sigma1 = 2's recursion) the error does not shrink."""
    slope, _ = ntk_error_slope("tanh", 1, sigma0_of=lambda m: init_std(2.0, m))
    assert slope > -0.2
