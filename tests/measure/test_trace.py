"""Hutchinson and Hutch++ traces: dense twins of every sample, convergence in the products, CI coverage."""

import math

import pytest
import torch

from dense import DenseOperator, spectrum_matrix, tiny_hessian_problem
from rscbench.errors import InvalidArgumentError
from rscbench.measure import HessianOperator, hutchinson_trace, hutchpp_trace
from rscbench.measure.trace import probe_vectors


def probes(count: int, dim: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return probe_vectors(
        count, dim, generator=generator, distribution="rademacher", dtype=torch.float64, device="cpu"
    )


def test_hutchinson_samples_are_the_dense_quadratic_forms() -> None:
    fn, params, H = tiny_hessian_problem()
    result = hutchinson_trace(HessianOperator(fn, params), n_samples=12, seed=5)
    Z = probes(12, H.shape[0], seed=5)
    expected = torch.einsum("ip,pq,iq->i", Z, H, Z)
    torch.testing.assert_close(
        torch.tensor(result.samples, dtype=torch.float64), expected, rtol=1e-10, atol=1e-12
    )
    assert result.value == pytest.approx(float(expected.mean()), rel=1e-10)
    assert result.n_products == 12 and result.exact_part == 0.0
    assert result.ci_low < result.value < result.ci_high


def test_hutchpp_matches_its_dense_twin() -> None:
    fn, params, H = tiny_hessian_problem()
    p = H.shape[0]
    result = hutchpp_trace(HessianOperator(fn, params), n_products=31, seed=2)
    k = 31 // 3
    drawn = probes(k + (31 - 2 * k), p, seed=2)
    Q, _ = torch.linalg.qr(H @ drawn[:k].T)
    assert result.exact_part == pytest.approx(float(torch.trace(Q.T @ H @ Q)), rel=1e-9)
    deflated = drawn[k:] - (drawn[k:] @ Q) @ Q.T
    expected = torch.einsum("ip,pq,iq->i", deflated, H, deflated)
    torch.testing.assert_close(
        torch.tensor(result.samples, dtype=torch.float64), expected, rtol=1e-8, atol=1e-10
    )
    assert result.n_products == 31 and len(result.samples) == 31 - 2 * k


def rms_error(estimator, operator_matrix: torch.Tensor, products: int, seeds: range) -> float:
    truth = float(torch.trace(operator_matrix))
    errors = [estimator(DenseOperator(operator_matrix), products, seed).value - truth for seed in seeds]
    return math.sqrt(sum(e * e for e in errors) / len(errors)) / abs(truth)


def hutchinson(operator, products, seed):
    return hutchinson_trace(operator, n_samples=products, seed=seed)


def hutchpp(operator, products, seed):
    return hutchpp_trace(operator, n_products=products, seed=seed)


def test_hutchinson_error_shrinks_like_one_over_sqrt_products() -> None:
    _, _, H = tiny_hessian_problem()
    coarse = rms_error(hutchinson, H, 8, range(60))
    fine = rms_error(hutchinson, H, 128, range(60))
    # 16x the products: the RMS error falls by sqrt(16) = 4 in expectation (60 seeds: about +-20%).
    assert 2.5 < coarse / fine < 6.5


def test_hutchpp_converges_faster_on_a_decaying_spectrum() -> None:
    matrix = spectrum_matrix(torch.arange(1, 301, dtype=torch.float64) ** -2.0, seed=1)
    errors = {m: rms_error(hutchpp, matrix, m, range(30)) for m in (12, 48, 192)}
    # 1/m-type decay: each 4x in products cuts the error by far more than Hutchinson's 2x.
    assert errors[48] < errors[12] / 3 and errors[192] < errors[48] / 3
    assert errors[192] < rms_error(hutchinson, matrix, 192, range(30)) / 5


def coverage(confidence: float, trials: int = 300) -> float:
    matrix = spectrum_matrix(torch.linspace(-1.0, 3.0, 40), seed=4)
    truth = float(torch.trace(matrix))
    hits = 0
    for seed in range(trials):
        result = hutchinson_trace(DenseOperator(matrix), n_samples=40, seed=seed, confidence=confidence)
        hits += result.ci_low <= truth <= result.ci_high
    return hits / trials


def test_confidence_interval_covers_the_true_trace() -> None:
    # 300 trials: a 95% interval covers in 95% +- 1.3% (binomial sd); the test accepts 90-99%.
    assert 0.90 <= coverage(0.95) <= 0.99
    # The same check refuses an interval that claims 95% but is a 50% one.
    assert not 0.90 <= coverage(0.50) <= 0.99


def test_hutchpp_interval_covers_too() -> None:
    matrix = spectrum_matrix(torch.arange(1, 101, dtype=torch.float64) ** -1.0, seed=2)
    truth = float(torch.trace(matrix))
    hits = sum(
        (lambda r: r.ci_low <= truth <= r.ci_high)(
            hutchpp_trace(DenseOperator(matrix), n_products=60, seed=s)
        )
        for s in range(200)
    )
    assert 0.88 <= hits / 200 <= 0.995


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda op: hutchinson_trace(op, n_samples=1), "n_samples"),
        (lambda op: hutchinson_trace(op, distribution="uniform"), "distribution"),
        (lambda op: hutchinson_trace(op, confidence=1.0), "confidence"),
        (lambda op: hutchpp_trace(op, n_products=4), "n_products"),
    ],
)
def test_bad_arguments(call, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        call(DenseOperator(torch.eye(3, dtype=torch.float64)))
    assert error.value.argument == argument
