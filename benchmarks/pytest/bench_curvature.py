"""rscbench's curvature estimators timed beside their peers, on the problem of problems.py (docs/kernels.md).

The paper's network (depth 3, tanh, d = 32, n = 256, float32) at the widths of problems.py. Groups:

* ``trace``: tr(nabla^2 L) with 99 Hessian-vector products: rscbench's Hutchinson and Hutch++,
  curvlinops' Hutchinson, Hutch++ and XTrace on its HessianLinearOperator, and PyHessian's
  ``trace()`` at its defaults (it stops when the mean moves less than 1e-3, at most 100 samples).
  Reference: rscbench's Hutch++ in float64 with 999 products (its CI is recorded).
* ``density``: stochastic Lanczos quadrature, one start of 100 steps: rscbench's
  ``spectral_density`` and PyHessian's ``density(iter=100, n_v=1)``; the error recorded is that of
  the largest node against the float64 lambda_max (the reference fixture of conftest.py).
* ``top-k``: the top 4 eigenvalues: rscbench's block Lanczos at tol 1e-3 and PyHessian's
  ``eigenvalues(top_n=4)`` (power iteration with deflation, its default tol 1e-3); reference:
  block Lanczos at tol 1e-8 in float64.
* ``curvature-products``: one product with the Hessian, the Gauss-Newton matrix and the empirical
  Fisher, rscbench's operators beside curvlinops' (HVP, GGN, EF linear operators).

Peers are measured baselines only, called through their public APIs (nothing of theirs is copied):
PyHessian and curvlinops are the ``peers`` extra, installed with pip's ``--no-deps`` as README's
Dependencies section spells out (a resolving install would replace the pinned torch). A row whose
peer is absent is skipped with that reason. rscbench's rows assert their accuracy; peers' rows record theirs.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from problems import START_SEED, TOL, Problem, Reference, timed

from rscbench.measure import (
    HessianOperator,
    empirical_fisher_operator,
    gauss_newton_operator,
    hutchinson_trace,
    hutchpp_trace,
    spectral_density,
    top_eigenpairs,
)

PRODUCTS = 99
REFERENCE_PRODUCTS = 999
SLQ_STEPS = 100
TOP_K = 4
ROUNDS = 3


def _peer(name: str):
    try:
        return __import__(name)
    except ImportError:
        return None


PYHESSIAN = _peer("pyhessian")
CURVLINOPS = _peer("curvlinops")
PYHESSIAN_VERSION = "0.1"
PYHESSIAN_SKIP = "PyHessian is not installed (the peers extra, with --no-deps: README, Dependencies)"
CURVLINOPS_SKIP = "curvlinops is not installed (the peers extra, with --no-deps: README, Dependencies)"


def _cpu_only(problem: Problem) -> None:
    if problem.device.type != "cpu":
        pytest.skip("peer rows run on the CPU only")


def _trainable(problem: Problem) -> torch.nn.Module:
    """A copy of the problem's model whose parameters require grad (what the peers differentiate)."""
    return copy.deepcopy(problem.model).requires_grad_(True)


def _pyhessian(problem: Problem):
    """A maker of PyHessian's hessian object on the problem; called inside the timing, as rscbench's
    rows build their operator there (skipped where PyHessian is absent or not on the CPU)."""
    if PYHESSIAN is None:
        pytest.skip(PYHESSIAN_SKIP)
    _cpu_only(problem)
    model = _trainable(problem)
    torch.manual_seed(START_SEED)  # PyHessian draws its probes from torch's global generator
    return lambda: PYHESSIAN.hessian(model, _criterion, data=(problem.X, problem.y), cuda=False)


def _criterion(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """rscbench's square loss (mean (f - y)^2, no 1/2) on a model output of shape (n, 1)."""
    return ((outputs.reshape(-1) - targets) ** 2).mean()


class _Column(torch.nn.Module):
    """The model with outputs of shape (n, 1), the layout nn.MSELoss and curvlinops expect."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.inner(X)[:, None]


def _curvlinops_operator(problem: Problem, kind: str):
    model = _Column(_trainable(problem))
    classes = {
        "hessian": CURVLINOPS.HessianLinearOperator,
        "gauss_newton": CURVLINOPS.GGNLinearOperator,
        "fisher": CURVLINOPS.EFLinearOperator,
    }
    return classes[kind](
        model, torch.nn.MSELoss(), list(model.parameters()), [(problem.X, problem.y[:, None])]
    )


# --------------------------------------------------------------------------------------------------
# trace
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trace_reference(problem64: Problem):
    """Hutch++ in float64 with 999 products: the reference trace and its CI."""
    return hutchpp_trace(
        HessianOperator(problem64.loss, problem64.params), n_products=REFERENCE_PRODUCTS, seed=START_SEED
    )


def _record_trace(benchmark, value: float, products: int, reference) -> float:
    error = abs(value - reference.value) / abs(reference.value)
    benchmark.extra_info.update(
        trace=value,
        n_hvp=products,
        rel_error_vs_reference=error,
        reference_trace=reference.value,
        reference_ci=[reference.ci_low, reference.ci_high],
        reference=f"float64 Hutch++, {REFERENCE_PRODUCTS} products",
    )
    return error


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
@pytest.mark.benchmark(group="trace")
def test_trace_0_rscbench(benchmark, problem: Problem, trace_reference, method: str) -> None:
    def run():
        operator = HessianOperator(problem.loss, problem.params)
        if method == "hutchinson":
            return hutchinson_trace(operator, n_samples=PRODUCTS, seed=START_SEED)
        return hutchpp_trace(operator, n_products=PRODUCTS, seed=START_SEED)

    result = timed(benchmark, problem, run, ROUNDS)
    _record_trace(benchmark, result.value, result.n_products, trace_reference)
    benchmark.extra_info.update(method=method, ci=[result.ci_low, result.ci_high], std_error=result.std_error)
    # Both are unbiased: the reference lies within 5 of this estimate's standard errors (plus its own).
    reference_half = (trace_reference.ci_high - trace_reference.ci_low) / 2
    assert abs(result.value - trace_reference.value) <= 5 * result.std_error + reference_half


@pytest.mark.parametrize("method", ["hutchinson", "hutchpp", "xtrace"])
@pytest.mark.benchmark(group="trace")
def test_trace_1_curvlinops(benchmark, problem: Problem, trace_reference, method: str) -> None:
    if CURVLINOPS is None:
        pytest.skip(CURVLINOPS_SKIP)
    _cpu_only(problem)
    from curvlinops.trace.epperly2024xtrace import xtrace
    from curvlinops.trace.hutchinson import hutchinson_trace as peer_hutchinson
    from curvlinops.trace.meyer2020hutch import hutchpp_trace as peer_hutchpp

    estimator = {"hutchinson": peer_hutchinson, "hutchpp": peer_hutchpp, "xtrace": xtrace}[method]
    operator = _curvlinops_operator(problem, "hessian")
    products = PRODUCTS + 1 if method == "xtrace" else PRODUCTS  # XTrace takes an even budget
    torch.manual_seed(START_SEED)  # curvlinops draws its probes from torch's global generator
    value = float(timed(benchmark, problem, lambda: estimator(operator, products), ROUNDS))
    error = _record_trace(benchmark, value, products, trace_reference)
    benchmark.extra_info["method"] = f"curvlinops {method}"
    assert math.isfinite(error)


@pytest.mark.benchmark(group="trace")
def test_trace_2_pyhessian(benchmark, problem: Problem, trace_reference) -> None:
    peer = _pyhessian(problem)

    def run():
        return peer().trace()

    samples = timed(benchmark, problem, run, ROUNDS)
    error = _record_trace(benchmark, float(sum(samples) / len(samples)), len(samples), trace_reference)
    benchmark.extra_info["method"] = "PyHessian trace() defaults (maxIter 100, tol 1e-3 on the mean)"
    assert math.isfinite(error)


# --------------------------------------------------------------------------------------------------
# density
# --------------------------------------------------------------------------------------------------


def _record_density(benchmark, top_node: float, products: int, reference: Reference) -> float:
    error = abs(top_node - reference.lambda_max) / abs(reference.lambda_max)
    benchmark.extra_info.update(
        largest_node=top_node,
        n_hvp=products,
        rel_error_largest_node=error,
        reference_lambda_max=reference.lambda_max,
    )
    return error


@pytest.mark.benchmark(group="density")
def test_density_0_rscbench(benchmark, problem: Problem, reference: Reference) -> None:
    def run():
        operator = HessianOperator(problem.loss, problem.params)
        return spectral_density(operator, n_vectors=1, steps=SLQ_STEPS, seed=START_SEED)

    result = timed(benchmark, problem, run, ROUNDS)
    nodes, weights = result.pooled()
    error = _record_density(benchmark, float(nodes.max()), result.n_products, reference)
    benchmark.extra_info.update(steps_taken=result.steps_taken[0], weight_sum=float(weights.sum()))
    assert abs(float(weights.sum()) - 1) <= 1e-9
    assert error <= TOL  # 100 steps resolve the top of the spectrum (Ritz values lie inside it)


@pytest.mark.benchmark(group="density")
def test_density_1_pyhessian(benchmark, problem: Problem, reference: Reference) -> None:
    peer = _pyhessian(problem)

    def run():
        return peer().density(iter=SLQ_STEPS, n_v=1)

    try:
        run()
    except RuntimeError as error:  # PyHessian 0.1's density() calls torch.eig, removed in torch 1.9
        if "torch.eig" not in str(error):
            raise
        pytest.skip(
            f"PyHessian {PYHESSIAN_VERSION} density() fails on torch {torch.__version__}: {error}"[:200]
        )
    nodes, weights = timed(benchmark, problem, run, ROUNDS)
    error = _record_density(benchmark, float(max(nodes[0])), SLQ_STEPS, reference)
    benchmark.extra_info.update(weight_sum=float(sum(weights[0])))
    assert math.isfinite(error)


# --------------------------------------------------------------------------------------------------
# top-k
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def topk_reference(problem64: Problem) -> torch.Tensor:
    result = top_eigenpairs(HessianOperator(problem64.loss, problem64.params), TOP_K, tol=1e-8, max_basis=256)
    assert result.converged, result.stop_rule
    return result.values


def _record_topk(benchmark, values, products: int, reference: torch.Tensor) -> float:
    error = float(
        (torch.as_tensor(values, dtype=torch.float64) - reference).abs().max() / reference.abs().max()
    )
    benchmark.extra_info.update(
        values=[float(v) for v in values], n_hvp=products, rel_error=error, reference=reference.tolist()
    )
    return error


@pytest.mark.benchmark(group="top-k")
def test_topk_0_rscbench(benchmark, problem: Problem, topk_reference: torch.Tensor) -> None:
    def run():
        return top_eigenpairs(HessianOperator(problem.loss, problem.params), TOP_K, tol=TOL, seed=START_SEED)

    result = timed(benchmark, problem, run, ROUNDS)
    error = _record_topk(benchmark, result.values.cpu(), result.n_products, topk_reference)
    benchmark.extra_info.update(converged=result.converged, residuals=result.residuals.tolist())
    assert result.converged and error <= 2 * TOL


@pytest.mark.benchmark(group="top-k")
def test_topk_1_pyhessian(benchmark, problem: Problem, topk_reference: torch.Tensor) -> None:
    peer = _pyhessian(problem)

    def run():
        return peer().eigenvalues(top_n=TOP_K)

    values, _ = timed(benchmark, problem, run, ROUNDS)
    error = _record_topk(benchmark, sorted(values, reverse=True), -1, topk_reference)
    benchmark.extra_info["n_hvp"] = "not reported by PyHessian"
    assert math.isfinite(error)


# --------------------------------------------------------------------------------------------------
# curvature-products
# --------------------------------------------------------------------------------------------------


def _operator(problem: Problem, kind: str):
    if kind == "hessian":
        return HessianOperator(problem.loss, problem.params)
    build = gauss_newton_operator if kind == "gauss_newton" else empirical_fisher_operator
    return build(problem.model, problem.X, problem.y, "square")


@pytest.mark.parametrize("kind", ["hessian", "gauss_newton", "fisher"])
@pytest.mark.benchmark(group="curvature-products")
def test_products_0_rscbench(benchmark, problem: Problem, kind: str) -> None:
    operator = _operator(problem, kind)  # built once, as a solver would
    vector = torch.randn(operator.dim, generator=torch.Generator().manual_seed(1)).to(problem.X)
    product = timed(benchmark, problem, lambda: operator.matvec(vector), 20)
    benchmark.extra_info["kind"] = kind
    if kind == "gauss_newton":  # G is PSD
        assert float(vector @ product) >= 0


@pytest.mark.parametrize("kind", ["hessian", "gauss_newton", "fisher"])
@pytest.mark.benchmark(group="curvature-products")
def test_products_1_curvlinops(benchmark, problem: Problem, kind: str) -> None:
    if CURVLINOPS is None:
        pytest.skip(CURVLINOPS_SKIP)
    _cpu_only(problem)
    operator = _curvlinops_operator(problem, kind)
    vector = torch.randn(problem.dim, generator=torch.Generator().manual_seed(1)).to(problem.X)
    ours = _operator(problem, kind).matvec(vector)
    product = timed(benchmark, problem, lambda: operator @ vector, 20)
    # The same matrices: nn.MSELoss(mean) is rscbench's square loss (mean (f - y)^2, no 1/2).
    error = float((product - ours).norm() / ours.norm())
    benchmark.extra_info.update(kind=f"curvlinops {kind}", rel_difference_vs_rscbench=error)
    assert error <= 1e-4
