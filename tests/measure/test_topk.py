"""Block Lanczos top-k eigenpairs against dense eigh: values, vectors, residual bounds, convergence."""

import itertools

import pytest
import torch

from dense import DenseOperator, spectrum_matrix, tiny_hessian_problem
from rscbench.errors import InvalidArgumentError
from rscbench.measure import HessianOperator, hessian_extremes, top_eigenpairs


def true_residuals(matrix: torch.Tensor, result) -> torch.Tensor:
    return (result.vectors @ matrix - result.values[:, None] * result.vectors).norm(dim=1)


@pytest.mark.parametrize("which", ["largest", "smallest", "magnitude"])
def test_hessian_eigenpairs_match_dense_eigh(which: str) -> None:
    fn, params, H = tiny_hessian_problem()
    eigenvalues, eigenvectors = torch.linalg.eigh(H)
    order = {
        "largest": torch.argsort(eigenvalues, descending=True),
        "smallest": torch.argsort(eigenvalues),
        "magnitude": torch.argsort(eigenvalues.abs(), descending=True),
    }[which][:4]
    result = top_eigenpairs(HessianOperator(fn, params), 4, which=which, tol=1e-10)
    assert result.converged and result.stop_rule == "residual"
    torch.testing.assert_close(result.values, eigenvalues[order], rtol=1e-9, atol=1e-12)
    # Reported residuals are the true ||H y - theta y|| and bound the eigenvalue errors.
    torch.testing.assert_close(result.residuals, true_residuals(H, result), rtol=1e-4, atol=1e-12)
    assert bool(((result.values - eigenvalues[order]).abs() <= result.residuals + 1e-14).all())
    overlaps = (result.vectors @ eigenvectors[:, order]).diagonal().abs()
    torch.testing.assert_close(overlaps, torch.ones(4, dtype=torch.float64), rtol=0, atol=1e-6)
    assert result.n_products == 4 * result.block_steps


def test_error_shrinks_with_the_basis_size() -> None:
    _, _, H = tiny_hessian_problem()
    top = torch.linalg.eigvalsh(H).flip(0)[:3]
    errors, residuals = [], []
    for basis in (6, 12, 18, 24, 30, 36):
        result = top_eigenpairs(DenseOperator(H), 3, tol=1e-14, max_basis=basis)
        errors.append(float((result.values - top).abs().max() / top.abs().max()))
        residuals.append(float(result.residuals.max()))
        assert result.stop_rule == "max_basis" and result.basis_size == basis and not result.converged
    # Measured: relative errors 0.5, 0.17, 0.02, 4e-4, 1e-7, 3e-14 (p = 66).
    assert all(later < earlier for earlier, later in itertools.pairwise(errors))
    assert all(later < earlier for earlier, later in itertools.pairwise(residuals))
    assert errors[-1] < 1e-10


def test_block_size_one_agrees_with_lanczos_extremes() -> None:
    fn, params, _ = tiny_hessian_problem()
    single = top_eigenpairs(HessianOperator(fn, params), 1, block_size=1, tol=1e-9)
    extremes = hessian_extremes(fn, params, tol=1e-9, target="largest")
    assert float(single.values[0]) == pytest.approx(extremes.lambda_max, rel=1e-8)


def test_clustered_eigenvalues_need_a_block() -> None:
    # A degenerate top eigenvalue (multiplicity 3): a block of 3 finds the whole eigenspace.
    eigenvalues = torch.cat([torch.full((3,), 5.0), torch.linspace(-1.0, 1.0, 57)]).double()
    result = top_eigenpairs(DenseOperator(spectrum_matrix(eigenvalues, seed=5)), 3, tol=1e-10)
    torch.testing.assert_close(result.values, torch.full((3,), 5.0, dtype=torch.float64), rtol=1e-9, atol=0)
    gram = result.vectors @ result.vectors.T
    torch.testing.assert_close(gram, torch.eye(3, dtype=torch.float64), rtol=0, atol=1e-8)


def test_invariant_subspace_of_a_low_rank_operator() -> None:
    eigenvalues = torch.cat([torch.tensor([4.0, 2.0, -3.0]), torch.zeros(47)]).double()
    matrix = spectrum_matrix(eigenvalues, seed=6)
    result = top_eigenpairs(DenseOperator(matrix), 2, which="magnitude", block_size=2, tol=1e-12)
    torch.testing.assert_close(
        result.values, torch.tensor([4.0, -3.0], dtype=torch.float64), rtol=1e-10, atol=0
    )
    assert result.converged


def test_float32_operator_converges_to_its_tolerance() -> None:
    fn, params, H = tiny_hessian_problem()
    params32 = {name: value.float() for name, value in params.items()}

    def fn32(p):
        return fn({name: value.double() for name, value in p.items()}).float()

    result = top_eigenpairs(HessianOperator(fn32, params32), 2, tol=1e-3)
    top = torch.linalg.eigvalsh(H).flip(0)[:2]
    assert result.vectors.dtype == torch.float32
    assert bool(((result.values - top).abs() <= 2e-3 * top.abs().max()).all())


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"k": 0}, "k"),
        ({"k": 11}, "k"),
        ({"k": 2, "which": "middle"}, "which"),
        ({"k": 2, "block_size": 0}, "block_size"),
        ({"k": 2, "tol": 0.0}, "tol"),
        ({"k": 4, "block_size": 2, "max_basis": 3}, "max_basis"),
    ],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        top_eigenpairs(DenseOperator(torch.eye(10, dtype=torch.float64)), **kwargs)
    assert error.value.argument == argument
