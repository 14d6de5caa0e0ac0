"""Stochastic Lanczos quadrature against dense eigenvalues: exact moments per start, Wasserstein decay."""

import itertools
import math

import pytest
import torch
from scipy.stats import wasserstein_distance

from dense import DenseOperator, spectrum_matrix, tiny_hessian_problem
from rscbench.errors import InvalidArgumentError
from rscbench.measure import HessianOperator, spectral_density
from rscbench.measure.trace import probe_vectors


def wasserstein_to_dense(result, eigenvalues: torch.Tensor) -> float:
    nodes, weights = result.pooled()
    return wasserstein_distance(nodes.numpy(), eigenvalues.numpy(), weights.numpy())


def test_each_start_is_a_gauss_quadrature_of_its_own_vector() -> None:
    fn, params, H = tiny_hessian_problem()
    steps = 4
    result = spectral_density(HessianOperator(fn, params), n_vectors=3, steps=steps, seed=7)
    generator = torch.Generator().manual_seed(7)
    starts = probe_vectors(
        3, H.shape[0], generator=generator, distribution="rademacher", dtype=torch.float64, device="cpu"
    )
    starts = starts / starts.norm(dim=1, keepdim=True)
    for row in range(3):
        nodes, weights = result.nodes[row], result.weights[row]
        assert weights.sum().item() == pytest.approx(1.0, abs=1e-12)
        for order in range(2 * steps):
            exact = float(starts[row] @ torch.linalg.matrix_power(H, order) @ starts[row])
            quadrature = float((weights * nodes**order).sum())
            assert quadrature == pytest.approx(exact, rel=1e-9, abs=1e-14), order
        # Degree 2 * steps is beyond a 4-node Gauss rule: the same comparison fails there.
        beyond = float(starts[row] @ torch.linalg.matrix_power(H, 2 * steps) @ starts[row])
        assert abs(float((weights * nodes ** (2 * steps)).sum()) - beyond) > 1e-6 * abs(beyond)
    assert result.n_products == 3 * steps and result.steps_taken == (steps,) * 3


def test_moments_estimate_the_normalized_traces_of_powers() -> None:
    _, _, H = tiny_hessian_problem()
    eigenvalues = torch.linalg.eigvalsh(H)
    result = spectral_density(DenseOperator(H), n_vectors=64, steps=8, seed=0)
    for order in (1, 2, 3):
        estimate, error = result.moment(order)
        truth = float((eigenvalues**order).mean())
        assert abs(estimate - truth) <= 4 * error, order
    assert result.moment(0) == pytest.approx((1.0, 0.0), abs=1e-12)


def test_moment_error_shrinks_with_the_number_of_vectors() -> None:
    _, _, H = tiny_hessian_problem()
    truth = float((torch.linalg.eigvalsh(H) ** 2).mean())

    def rms(n_vectors: int) -> float:
        errors = [
            spectral_density(DenseOperator(H), n_vectors=n_vectors, steps=4, seed=seed).moment(2)[0] - truth
            for seed in range(20)
        ]
        return math.sqrt(sum(e * e for e in errors) / len(errors))

    # 16x the vectors: the error falls by about 4 (20 seeds: roughly +-30%).
    assert 2.0 < rms(4) / rms(64) < 8.0


def test_wasserstein_distance_to_the_dense_spectrum_shrinks_with_steps() -> None:
    _, _, H = tiny_hessian_problem()
    eigenvalues = torch.linalg.eigvalsh(H)
    spread = float(eigenvalues[-1] - eigenvalues[0])
    distances = [
        wasserstein_to_dense(spectral_density(DenseOperator(H), n_vectors=32, steps=s, seed=0), eigenvalues)
        for s in (2, 4, 8, 16, 32)
    ]
    assert all(later < earlier for earlier, later in itertools.pairwise(distances))
    assert distances[-1] < distances[0] / 10
    assert distances[-1] < 0.01 * spread  # measured 0.5% of the spread


def test_invariant_subspace_stops_early_and_stays_exact() -> None:
    eigenvalues = torch.cat([torch.tensor([3.0, -1.0, 0.5]), torch.zeros(37)]).double()
    result = spectral_density(DenseOperator(spectrum_matrix(eigenvalues, seed=3)), n_vectors=4, steps=20)
    assert max(result.steps_taken) <= 4
    assert result.moment(2)[0] > 0
    nodes, weights = result.pooled()
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert wasserstein_distance(nodes.numpy(), eigenvalues.numpy(), weights.numpy()) < 0.3


def test_smoothed_density_integrates_to_one() -> None:
    _, _, H = tiny_hessian_problem()
    result = spectral_density(DenseOperator(H), n_vectors=4, steps=8)
    grid = torch.linspace(-1.0, 1.0, 4001, dtype=torch.float64)
    values = result.density(grid, 0.01)
    assert values.shape == grid.shape and bool((values >= 0).all())
    assert float(torch.trapezoid(values, grid)) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InvalidArgumentError) as error:
        result.density(grid, 0.0)
    assert error.value.argument == "width"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"n_vectors": 0}, "n_vectors"), ({"steps": 0}, "steps"), ({"distribution": "sobol"}, "distribution")],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        spectral_density(DenseOperator(torch.eye(3, dtype=torch.float64)), **kwargs)
    assert error.value.argument == argument
