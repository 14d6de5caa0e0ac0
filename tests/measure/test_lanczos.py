"""Lanczos and power iteration on explicit symmetric matrices with known spectra (numpy eigvalsh)."""

import itertools

import numpy as np
import pytest
import torch

from rscbench.errors import InvalidArgumentError
from rscbench.measure.lanczos import (
    WORK_VECTORS,
    KrylovBasis,
    basis_capacity,
    lanczos,
    lanczos_vectors,
    power_iteration,
    random_start,
)


def symmetric(size: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(batch, size, size, generator=generator, dtype=torch.float64)
    return (A + A.transpose(1, 2)) / 2


def run(A: torch.Tensor, **options):
    start = random_start(A.shape[0], A.shape[1], seed=1, dtype=A.dtype, device="cpu")
    return lanczos(lambda V: torch.bmm(A, V[:, :, None])[:, :, 0], start, **options)


def test_batched_extremes_match_eigvalsh_within_their_residual() -> None:
    A = symmetric(60, batch=4)
    result = run(A, tol=1e-3, max_iter=60)
    reference = np.linalg.eigvalsh(A.numpy())
    assert result.converged.all()
    # Ritz values lie inside the spectrum and within their residual bound of an eigenvalue.
    assert (result.lambda_max.numpy() <= reference[:, -1] + 1e-12).all()
    assert (result.lambda_min.numpy() >= reference[:, 0] - 1e-12).all()
    assert (reference[:, -1] - result.lambda_max.numpy() <= result.residual_max.numpy() + 1e-12).all()
    assert (result.lambda_min.numpy() - reference[:, 0] <= result.residual_min.numpy() + 1e-12).all()
    assert set(result.stop_rule) == {"residual"}


def test_error_shrinks_as_iterations_grow() -> None:
    A = symmetric(200, seed=3)
    reference = np.linalg.eigvalsh(A[0].numpy())[-1]
    errors = [
        abs(float(run(A, tol=1e-14, max_iter=k).lambda_max[0]) - reference) for k in (5, 10, 20, 40, 80)
    ]
    assert all(later <= earlier for earlier, later in itertools.pairwise(errors))
    assert errors[-1] < 1e-8 * abs(reference) < errors[0]


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
        ({"patience": 0}, "patience"),
    ],
)
def test_bad_options_are_refused(options: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        run(symmetric(5), **options)
    assert error.value.argument == argument


@pytest.mark.parametrize("target", ["largest", "smallest"])
def test_one_sided_target_stops_when_its_end_has_converged(target: str) -> None:
    A = symmetric(150, seed=6)
    reference = np.linalg.eigvalsh(A[0].numpy())
    one_sided = run(A, tol=1e-6, max_iter=150, target=target)
    both = run(A, tol=1e-6, max_iter=150)
    value, residual, exact = (
        (one_sided.lambda_max, one_sided.residual_max, reference[-1])
        if target == "largest"
        else (one_sided.lambda_min, one_sided.residual_min, reference[0])
    )
    assert residual[0].item() <= 1e-6 * one_sided.norm[0].item()
    assert abs(value[0].item() - exact) <= residual[0].item() + 1e-12
    assert one_sided.iterations[0] <= both.iterations[0]


def test_unknown_target_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        run(symmetric(5), target="middle")
    assert error.value.argument == "target"


@pytest.mark.parametrize(("size", "max_iter"), [(30, 13), (10, 128), (50, 8), (50, 17), (200, 40)])
def test_basis_never_holds_more_than_the_stated_count(size: int, max_iter: int) -> None:
    A = symmetric(size, batch=2, seed=size)
    result = run(A, tol=1e-14, max_iter=max_iter, keep_basis=True)
    steps = int(result.iterations.max())
    assert result.basis.allocated <= basis_capacity(max_iter, size) == min(max_iter, size)
    assert result.basis.allocated + WORK_VECTORS == lanczos_vectors(max_iter, size, steps)
    assert lanczos_vectors(max_iter, size) == min(max_iter, size) + WORK_VECTORS


def test_a_capped_basis_refuses_one_vector_more() -> None:
    basis = KrylovBasis(1, 5, torch.zeros(1, 5), capacity=2)
    basis.append(torch.ones(1, 5))
    basis.append(torch.ones(1, 5))
    with pytest.raises(InvalidArgumentError):
        basis.append(torch.ones(1, 5))
    assert basis.allocated == 2
