"""Lanczos and power iteration on explicit symmetric matrices with known spectra (numpy eigvalsh).

The stopping corpus: spectra with tight and separated clusters at the ends, exact and near +/-
symmetric extremes, outliers over a bulk and geometric decay, each with random eigenvectors is
equivalent to a diagonal matrix with a random start, so the operators are diagonal. Every target
at every tolerance must return values within tol * norm of the dense truth. Ends that a Krylov
space cannot resolve at the stop (a cluster partner of width between the tolerance and the
resolution reached, which no stopping rule can see) are left out of the corpus and measured in
docs/kernels.md instead; test_without_the_safeguards_kato_temple_misses shows the corpus check
failing when the Kato-Temple safeguards are off.
"""

import itertools

import numpy as np
import pytest
import torch

from rscbench.errors import InvalidArgumentError
from rscbench.measure import ritz
from rscbench.measure.lanczos import (
    WORK_VECTORS,
    KrylovBasis,
    basis_capacity,
    lanczos,
    lanczos_vectors,
    power_iteration,
    random_start,
    restart_keep,
)
from rscbench.measure.ritz import norm_error


def symmetric(size: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(batch, size, size, generator=generator, dtype=torch.float64)
    return (A + A.transpose(1, 2)) / 2


def run(A: torch.Tensor, **options):
    start = random_start(A.shape[0], A.shape[1], seed=1, dtype=A.dtype, device="cpu")
    return lanczos(lambda V: torch.bmm(A, V[:, :, None])[:, :, 0], start, **options)


def corpus(size: int = 300, seed: int = 0) -> dict[str, torch.Tensor]:
    """Spectra (as diagonals) whose ends a Krylov space resolves before it can claim a tolerance:
    both ends explicit and apart from the bulk (a bulk's own edge is a dense end)."""
    generator = torch.Generator().manual_seed(seed)

    def bulk(low: float, high: float, count: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator, dtype=torch.float64)

    def spectrum(ends: list[float], low: float, high: float) -> torch.Tensor:
        values = torch.cat([torch.tensor(ends, dtype=torch.float64), bulk(low, high, size - len(ends))])
        return values[torch.randperm(size, generator=generator)]

    return {
        "tight-top-triple": spectrum([1.0, 1 - 1e-8, 1 - 2e-8, -0.9], -0.6, 0.7),
        "tight-bottom-pair": spectrum([-1.0, -1 + 1e-8, 0.8], -0.7, 0.6),
        "separated-top-pair": spectrum([1.0, 0.75, -0.8], -0.5, 0.5),
        "exact-plus-minus": spectrum([1.0, -1.0], -0.7, 0.7),
        "near-plus-minus": spectrum([1.0, -1 + 1e-8], -0.7, 0.7),
        "plus-minus-clusters": spectrum([1.0, 1 - 1e-8, -1.0, -1 + 1e-8], -0.6, 0.6),
        "outliers-over-bulk": spectrum([1.0, 0.6, 0.45, -0.35, -0.25], -0.1, 0.1),
        "geometric-decay": torch.cat(
            [0.7 ** torch.arange(size - 3, dtype=torch.float64), torch.tensor([-0.4, -0.2, -0.1])]
        ),
    }


def errors_of(result, values: torch.Tensor) -> dict[str, float]:
    top, bottom = float(values.max()), float(values.min())
    e_max, e_min = top - float(result.lambda_max[0]), float(result.lambda_min[0]) - bottom
    norm = max(top, -bottom)
    return {
        "largest": e_max,
        "smallest": e_min,
        "both": max(e_max, e_min),
        "norm": abs(norm - float(result.norm[0])),
        "scale": norm,
    }


def misses_on_the_corpus(seeds: range) -> list[tuple]:
    missed = []
    for seed, tol, target in itertools.product(seeds, (1e-3, 1e-6), ("largest", "smallest", "both", "norm")):
        for name, values in corpus(seed=seed).items():
            start = random_start(1, values.numel(), seed=seed + 50, dtype=torch.float64, device="cpu")
            result = lanczos(lambda V, d=values: V * d, start, tol=tol, max_iter=400, target=target)
            errors = errors_of(result, values)
            if not result.converged[0] or errors[target] > tol * errors["scale"] * (1 + 1e-9):
                missed.append((seed, name, tol, target, errors[target] / (tol * errors["scale"])))
    return missed


def test_every_target_meets_its_tolerance_on_the_corpus() -> None:
    assert misses_on_the_corpus(range(3)) == []


def test_without_the_safeguards_kato_temple_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    # A top pair 0.03 apart over an isolated 0.5 and a bulk near 0: the Krylov space finds 0.5
    # before it splits the pair, so the pair's mixed Ritz vector looks converged against 0.5.
    generator = torch.Generator().manual_seed(0)
    values = torch.cat([torch.tensor([1.0, 0.97, 0.5]), 0.2 * torch.rand(297, generator=generator) - 0.1])
    values = values.double()[torch.randperm(300, generator=generator)]
    start = random_start(1, 300, seed=100, dtype=torch.float64, device="cpu")

    def top_error() -> float:
        result = lanczos(lambda V: V * values, start, tol=1e-3, max_iter=400, target="largest")
        return 1.0 - float(result.lambda_max[0])

    assert top_error() <= 1e-3
    monkeypatch.setattr(ritz, "CONFIRMATIONS", 0)
    monkeypatch.setattr(ritz, "RESIDUAL_FACTOR", float("inf"))
    assert top_error() > 1e-3  # the bare Kato-Temple bound trusts the gap to 0.5


def test_kato_temple_stops_earlier_than_the_residual_rule() -> None:
    values = corpus()["outliers-over-bulk"]
    start = random_start(1, values.numel(), seed=3, dtype=torch.float64, device="cpu")
    tight = lanczos(lambda V: V * values, start, tol=1e-6, target="largest")
    residual = lanczos(lambda V: V * values, start, tol=1e-6, target="largest", bound="residual")
    assert tight.stop_rule == ("kato_temple",) and residual.stop_rule == ("residual",)
    assert tight.iterations[0] < residual.iterations[0]
    assert 1.0 - tight.lambda_max[0].item() <= tight.error_max[0].item() < tight.residual_max[0].item()


def test_batched_extremes_match_eigvalsh_within_their_bounds() -> None:
    A = symmetric(60, batch=4)
    result = run(A, tol=1e-3, max_iter=60)
    reference = np.linalg.eigvalsh(A.numpy())
    assert result.converged.all()
    # Ritz values lie inside the spectrum and within their error bounds of the extremes.
    assert (result.lambda_max.numpy() <= reference[:, -1] + 1e-12).all()
    assert (result.lambda_min.numpy() >= reference[:, 0] - 1e-12).all()
    assert (reference[:, -1] - result.lambda_max.numpy() <= result.error_max.numpy() + 1e-12).all()
    assert (result.lambda_min.numpy() - reference[:, 0] <= result.error_min.numpy() + 1e-12).all()
    assert (result.error_max <= result.residual_max + 1e-15).all()
    assert set(result.stop_rule) <= {"residual", "kato_temple"}


def test_error_shrinks_as_iterations_grow() -> None:
    A = symmetric(200, seed=3)
    reference = np.linalg.eigvalsh(A[0].numpy())[-1]
    errors = [
        abs(float(run(A, tol=1e-14, max_iter=k).lambda_max[0]) - reference) for k in (5, 10, 20, 40, 80)
    ]
    assert all(later <= earlier for earlier, later in itertools.pairwise(errors))
    assert errors[-1] < 1e-8 * abs(reference) < errors[0]


def test_thick_restarts_keep_converging_with_a_small_basis() -> None:
    A = symmetric(400, seed=8)
    reference = np.linalg.eigvalsh(A[0].numpy())
    small = run(A, tol=1e-10, max_iter=400, max_basis=12, keep_basis=True)
    assert small.converged[0] and small.restarts[0] > 0
    assert small.basis.count <= 12 and small.basis.allocated <= 12
    assert small.lambda_max[0].item() == pytest.approx(reference[-1], abs=1e-8)
    assert small.lambda_min[0].item() == pytest.approx(reference[0], abs=1e-8)
    # The extreme Ritz values never move inward across restarts.
    history = small.history[0]
    assert (history[1:, 1] >= history[:-1, 1] - 1e-12).all()
    assert (history[1:, 0] <= history[:-1, 0] + 1e-12).all()


def test_projected_matrix_is_the_operator_on_the_basis_after_restarts() -> None:
    A = symmetric(120, seed=9)[0]
    start = random_start(1, 120, seed=2, dtype=torch.float64, device="cpu")
    result = lanczos(lambda V: V @ A, start, tol=1e-12, max_iter=40, max_basis=10, keep_basis=True)
    k = int(result.basis_size[0])
    V = torch.stack([result.basis.vector(i)[0] for i in range(k)])
    # Semi-orthogonal basis (selective reorthogonalization keeps |q_i . q_j| <= sqrt(eps)).
    assert (V @ V.T - torch.eye(k, dtype=torch.float64)).abs().max() <= 1.5e-8
    torch.testing.assert_close(result.projected[0, :k, :k], V @ A @ V.T, rtol=0, atol=1e-7)


def test_full_dimension_is_exact_and_flags_invariant_subspace() -> None:
    A = symmetric(12)
    result = run(A, tol=1e-12, max_iter=100)
    reference = np.linalg.eigvalsh(A[0].numpy())
    assert result.lambda_max[0].item() == pytest.approx(reference[-1], abs=1e-12)
    assert result.lambda_min[0].item() == pytest.approx(reference[0], abs=1e-12)
    assert result.iterations[0].item() <= 12


def test_low_rank_operator_stops_on_invariant_subspace() -> None:
    generator = torch.Generator().manual_seed(0)
    U = torch.linalg.qr(torch.randn(50, 3, generator=generator, dtype=torch.float64))[0]
    A = (U * torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64)) @ U.T
    result = run(A[None], tol=1e-12, max_iter=50)
    assert result.stop_rule == ("invariant_subspace",) and result.iterations[0].item() <= 4
    assert result.lambda_max[0].item() == pytest.approx(3.0, abs=1e-12)
    assert result.lambda_min[0].item() == pytest.approx(-1.0, abs=1e-12)


def test_iteration_cap_is_reported_as_not_converged() -> None:
    result = run(symmetric(300, seed=5), tol=1e-10, max_iter=5)
    assert not result.converged[0] and result.stop_rule == ("max_iter",)


def test_orthogonal_to_restricts_to_the_complement() -> None:
    A = symmetric(30, seed=2)[0]
    axis = torch.randn(30, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    axis = axis / axis.norm()
    P = torch.eye(30, dtype=torch.float64) - torch.outer(axis, axis)
    complement = torch.linalg.qr(P)[0][:, :29]
    reference = np.linalg.eigvalsh((complement.T @ P @ A @ P @ complement).numpy())
    start = random_start(1, 30, seed=0, dtype=torch.float64, device="cpu")
    result = lanczos(lambda V: (A @ V[0])[None], start, tol=1e-12, max_iter=40, orthogonal_to=axis[None])
    assert result.lambda_min[0].item() == pytest.approx(reference[0], abs=1e-10)
    assert result.lambda_max[0].item() == pytest.approx(reference[-1], abs=1e-10)


def test_float32_operator_keeps_float64_scalars() -> None:
    A = symmetric(400, seed=4)
    reference = np.linalg.eigvalsh(A[0].numpy())[-1]
    result = run(A.float(), tol=1e-6, max_iter=150)
    assert result.lambda_max.dtype == torch.float64
    # float32 products carry ~1e-7 relative error; the Ritz value stays within ~1e-6 of the truth.
    assert abs(result.lambda_max[0].item() - reference) <= 1e-5 * abs(reference)


def test_norm_target_needs_only_the_end_of_larger_magnitude() -> None:
    values = corpus()["outliers-over-bulk"]  # |lambda_max| = 1 > |lambda_min| = 0.35
    start = random_start(1, values.numel(), seed=4, dtype=torch.float64, device="cpu")
    norm = lanczos(lambda V: V * values, start, tol=1e-6, target="norm")
    both = lanczos(lambda V: V * values, start, tol=1e-6, target="both")
    assert norm.iterations[0] < both.iterations[0]
    assert abs(float(norm.norm[0]) - 1.0) <= float(norm.error_norm[0]) <= 1e-6
    # The bound covers the other end too: it must be certainly smaller.
    assert -float(norm.lambda_min[0]) + float(norm.error_min[0]) <= 1.0 + 1e-6


def test_norm_error_bounds_both_ends() -> None:
    value = norm_error(torch.tensor([-0.9]), torch.tensor([1.0]), torch.tensor([0.2]), torch.tensor([0.01]))
    assert value.item() == pytest.approx(0.1)  # the bottom could reach -1.1
    value = norm_error(torch.tensor([-0.5]), torch.tensor([1.0]), torch.tensor([0.1]), torch.tensor([0.01]))
    assert value.item() == pytest.approx(0.01)


@pytest.mark.parametrize("rule", ["residual", "change", "oracle"])
def test_power_iteration_rules(rule: str) -> None:
    values = torch.tensor([5.0, 4.0, 1.0, -2.0], dtype=torch.float64)
    A = torch.diag(values)
    start = torch.ones(4, dtype=torch.float64)
    result = power_iteration(lambda v: A @ v, start, tol=1e-6, max_iter=500, rule=rule, reference=5.0)
    assert result.converged and abs(result.value - 5.0) <= 1e-4


def test_change_rule_stops_early_where_residual_rule_does_not() -> None:
    A = torch.diag(torch.tensor([1.0, 0.98, 0.5], dtype=torch.float64))
    start = torch.ones(3, dtype=torch.float64)
    change = power_iteration(lambda v: A @ v, start, tol=1e-3, rule="change")
    residual = power_iteration(lambda v: A @ v, start, tol=1e-3, rule="residual")
    assert abs(change.value - 1.0) > 1e-3 and abs(residual.value - 1.0) <= 1e-3


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"tol": 0.0}, "tol"),
        ({"tol": 1.5}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_basis": 3}, "max_basis"),
        ({"patience": 0}, "patience"),
        ({"target": "middle"}, "target"),
        ({"bound": "gap"}, "bound"),
    ],
)
def test_bad_options_are_refused(options: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        run(symmetric(5), **options)
    assert error.value.argument == argument


def test_keep_basis_needs_one_problem() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        run(symmetric(5, batch=2), keep_basis=True)
    assert error.value.argument == "keep_basis"


@pytest.mark.parametrize("target", ["largest", "smallest"])
def test_one_sided_target_stops_when_its_end_has_converged(target: str) -> None:
    A = symmetric(150, seed=6)
    reference = np.linalg.eigvalsh(A[0].numpy())
    one_sided = run(A, tol=1e-6, max_iter=150, target=target)
    both = run(A, tol=1e-6, max_iter=150)
    value, error, exact = (
        (one_sided.lambda_max, one_sided.error_max, reference[-1])
        if target == "largest"
        else (one_sided.lambda_min, one_sided.error_min, reference[0])
    )
    assert error[0].item() <= 1e-6 * one_sided.norm[0].item()
    assert abs(value[0].item() - exact) <= error[0].item() + 1e-12
    assert one_sided.iterations[0] <= both.iterations[0]


@pytest.mark.parametrize(
    ("size", "max_iter", "max_basis"),
    [(30, 13, 32), (10, 128, 32), (50, 8, 32), (200, 60, 16), (200, 40, 32)],
)
def test_basis_never_holds_more_than_the_stated_count(size: int, max_iter: int, max_basis: int) -> None:
    A = symmetric(size, seed=size)
    result = run(A, tol=1e-14, max_iter=max_iter, max_basis=max_basis, keep_basis=True)
    steps = int(result.iterations.max())
    capacity = basis_capacity(max_basis, size, max_iter)
    assert result.basis.allocated <= capacity == min(max_basis, size, max_iter)
    bound = lanczos_vectors(size, max_basis=max_basis, max_iter=max_iter)
    at_steps = lanczos_vectors(size, max_basis=max_basis, max_iter=max_iter, steps=steps)
    assert result.basis.allocated + WORK_VECTORS <= at_steps <= bound
    restarts = max_iter > capacity and capacity < size
    assert bound == capacity + (restart_keep(capacity) if restarts else 0) + WORK_VECTORS


def test_a_capped_basis_refuses_one_vector_more() -> None:
    basis = KrylovBasis(1, 5, torch.zeros(1, 5), capacity=2)
    basis.append(torch.ones(1, 5))
    basis.append(torch.ones(1, 5))
    with pytest.raises(InvalidArgumentError):
        basis.append(torch.ones(1, 5))
    assert basis.allocated == 2
