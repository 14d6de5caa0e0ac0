"""The top eigenvalue of the loss Hessian to tol 1e-3, rscbench beside its peers (docs/kernels.md).

Groups, per width (the problem of problems.py; widths as in bench_kernels.py, for instance
``RSCBENCH_BENCH_WIDTHS=256,1024,2048 pytest benchmarks/pytest -k top``):

* ``top-eigenvalue``: rscbench's ``loss_hessian_extremes`` (the space it picks: the structured
  subspace where it is much smaller than parameter space) for the targets "largest", "both" and
  "norm"; ``hessian_extremes`` in parameter space; power iteration on rscbench's HVP with the
  residual, oracle and relative-change rules; power iteration with the relative-change rule on a
  plain kept-graph ``torch.autograd.grad`` product (how PyHessian-style tools take it; measured,
  not their code); curvlinops ``HessianLinearOperator(...).to_scipy()`` with scipy ``eigsh(k=1,
  which="LA", tol=1e-3)``, the operator built inside the timing (skipped without curvlinops: the
  ``peers`` extra, installed with --no-deps). Every row records its products (``n_hvp``) and its
  relative error against a float64 Lanczos at tol 1e-10; rscbench's rows also the products an
  oracle-stopped Lanczos on the same Krylov sequence needs (the first step within tol of the
  answer) and the ratio.
* ``lanczos-step``: 30 Lanczos products that never stop early, in parameter space and in the
  structured subspace; ``extra_info["gradients_per_step"]`` divides a step by the median of 5
  gradients timed just before.

Speed is measured, never asserted; rscbench's rows assert that they met the tolerance.
"""

from __future__ import annotations

import copy
import statistics
import time

import pytest
import torch
from problems import DTYPE, SOLVER_ROUNDS, START_SEED, TOL, Problem, Reference, timed

from rscbench.measure.hvp import HessianOperator
from rscbench.measure.krylov import random_start
from rscbench.measure.lanczos import lanczos, power_iteration
from rscbench.measure.spaces import FullSpace, StructuredSpace, choose_space, loss_hessian_extremes
from rscbench.measure.spectrum import HessianExtremes, hessian_extremes

ORACLE_MAX_ITER = 200
STEPS = 30


def _space(problem: Problem, name: str) -> FullSpace | StructuredSpace:
    build = StructuredSpace if name == "structured" else FullSpace
    return build(problem.model, problem.X, problem.y, "square")


def _oracle_steps(problem: Problem, target: str, space: str, reference: Reference) -> int | None:
    """Products an oracle-stopped Lanczos needs on the same Krylov sequence as the timed row."""
    where = _space(problem, space)
    start = where.project(random_start(1, where.size, seed=START_SEED, dtype=DTYPE, device=problem.device)[0])
    long = lanczos(lambda block: where.hessian(block[0])[None], start[None], tol=1e-12,
                   max_iter=ORACLE_MAX_ITER, target=target)  # fmt: skip
    history = long.history[0].cpu()
    errors = {
        "largest": reference.lambda_max - history[:, 1],
        "both": torch.maximum(reference.lambda_max - history[:, 1], history[:, 0] - reference.lambda_min),
        "norm": (reference.norm - torch.maximum(history[:, 1], -history[:, 0])).abs(),
    }[target]
    within = torch.nonzero(errors <= TOL * reference.norm)
    return int(within[0]) + 1 if within.numel() else None


def _record(benchmark, value: float, n_hvp: int, exact: float) -> float:
    error = abs(value - exact) / abs(exact)
    benchmark.extra_info.update(value=value, n_hvp=n_hvp, rel_error=error, reference=exact, tol=TOL)
    return error


@pytest.mark.parametrize("target", ["largest", "both", "norm"])
@pytest.mark.benchmark(group="top-eigenvalue")
def test_top_0_rscbench(benchmark, problem: Problem, reference: Reference, target: str) -> None:
    def run() -> HessianExtremes:
        return loss_hessian_extremes(
            problem.model, problem.X, problem.y, tol=TOL, seed=START_SEED, target=target
        )

    result = timed(benchmark, problem, run, SOLVER_ROUNDS)
    value, exact = (
        (result.norm, reference.norm) if target == "norm" else (result.lambda_max, reference.lambda_max)
    )
    error = _record(benchmark, value, result.n_hvp, exact)
    oracle = _oracle_steps(problem, target, result.space, reference)
    benchmark.extra_info.update(
        target=target, space=result.space, stop_rule=result.stop_rule, error_bound=result.error_max,
        restarts=result.restarts, oracle_n_hvp=oracle, over_oracle=result.n_hvp / oracle if oracle else None,
    )  # fmt: skip
    assert result.converged and error <= TOL


@pytest.mark.benchmark(group="top-eigenvalue")
def test_top_1_parameter_space(benchmark, problem: Problem, reference: Reference) -> None:
    def run() -> HessianExtremes:
        return hessian_extremes(problem.loss, problem.params, tol=TOL, seed=START_SEED, target="largest")

    result = timed(benchmark, problem, run, SOLVER_ROUNDS)
    error = _record(benchmark, result.lambda_max, result.n_hvp, reference.lambda_max)
    oracle = _oracle_steps(problem, "largest", "full", reference)
    benchmark.extra_info.update(space="full", oracle_n_hvp=oracle, over_oracle=result.n_hvp / oracle)
    assert result.converged and error <= TOL


@pytest.mark.parametrize("rule", ["residual", "oracle", "change"])
@pytest.mark.benchmark(group="top-eigenvalue")
def test_top_2_power(benchmark, problem: Problem, reference: Reference, rule: str) -> None:
    start = random_start(1, problem.dim, seed=START_SEED, dtype=DTYPE, device="cpu")[0].to(problem.device)
    oracle = reference.lambda_max if rule == "oracle" else None

    def run():
        operator = HessianOperator(problem.loss, problem.params, "reuse")  # as hessian_extremes does
        return power_iteration(operator.matvec, start, tol=TOL, rule=rule, reference=oracle)

    result = timed(benchmark, problem, run, SOLVER_ROUNDS)
    error = _record(benchmark, result.value, result.iterations, reference.lambda_max)
    benchmark.extra_info.update(rule=rule, residual=result.residual, converged=result.converged)
    assert result.converged
    if rule != "change":  # the relative-change rule is the baseline known to stop early; no promise
        assert error <= TOL


@pytest.mark.benchmark(group="top-eigenvalue")
def test_top_3_power_plain_kept_graph(benchmark, problem: Problem, reference: Reference) -> None:
    start = random_start(1, problem.dim, seed=START_SEED, dtype=DTYPE, device="cpu")[0].to(problem.device)

    def run():
        leaves = [value.detach().clone().requires_grad_(True) for value in problem.params.values()]
        value = problem.loss(dict(zip(problem.params, leaves, strict=True)))
        gradient = torch.autograd.grad(value, leaves, create_graph=True)
        sizes = [leaf.numel() for leaf in leaves]

        def product(vector: torch.Tensor) -> torch.Tensor:
            pieces = [
                piece.reshape(leaf.shape) for piece, leaf in zip(vector.split(sizes), leaves, strict=True)
            ]
            images = torch.autograd.grad(gradient, leaves, grad_outputs=pieces, retain_graph=True)
            return torch.cat([image.reshape(-1) for image in images])

        return power_iteration(product, start, tol=TOL, rule="change")

    result = timed(benchmark, problem, run, SOLVER_ROUNDS)
    _record(benchmark, result.value, result.iterations, reference.lambda_max)
    benchmark.extra_info.update(rule="change", hvp="plain kept-graph autograd.grad", residual=result.residual)
    assert result.converged


@pytest.mark.benchmark(group="top-eigenvalue")
def test_top_4_curvlinops_eigsh(benchmark, problem: Problem, reference: Reference) -> None:
    curvlinops = pytest.importorskip("curvlinops", reason="curvlinops is the optional peers extra")
    from scipy.sparse.linalg import eigsh

    model = copy.deepcopy(problem.model).requires_grad_(True)
    params = list(model.parameters())
    calls = [0]

    def run() -> float:
        operator = curvlinops.HessianLinearOperator(
            model, torch.nn.MSELoss(), params, [(problem.X, problem.y)], progressbar=False,
            check_deterministic=False,
        ).to_scipy()  # fmt: skip
        matvec = operator.matvec

        def counted(vector):
            calls[0] += 1
            return matvec(vector)

        operator.matvec = counted
        calls[0] = 0
        return float(eigsh(operator, k=1, which="LA", tol=TOL, return_eigenvectors=False)[0])

    value = timed(benchmark, problem, run, SOLVER_ROUNDS)
    error = _record(benchmark, value, calls[0], reference.lambda_max)
    benchmark.extra_info.update(
        peer="curvlinops HessianLinearOperator + scipy eigsh", check_deterministic=False
    )
    assert error <= 1e-2  # its own default stopping; recorded, not promised


@pytest.mark.parametrize("space", ["full", "structured"])
@pytest.mark.benchmark(group="lanczos-step")
def test_lanczos_step(benchmark, problem: Problem, space: str) -> None:
    if space == "structured" and choose_space(problem.model, problem.X, "square") != "structured":
        pytest.skip("the structured subspace is not smaller than parameter space at this width")
    where = _space(problem, space)
    start = where.project(random_start(1, where.size, seed=START_SEED, dtype=DTYPE, device=problem.device)[0])

    def run():
        return lanczos(lambda block: where.hessian(block[0])[None], start[None], tol=1e-12, max_iter=STEPS)

    def gradient_seconds() -> float:
        leaves = [value.detach().clone().requires_grad_(True) for value in problem.params.values()]
        began = time.perf_counter()
        torch.autograd.grad(problem.loss(dict(zip(problem.params, leaves, strict=True))), leaves)
        return time.perf_counter() - began

    gradient = statistics.median(gradient_seconds() for _ in range(5))
    result = timed(benchmark, problem, run, SOLVER_ROUNDS)
    step = benchmark.stats.stats.median / STEPS if benchmark.stats else float("nan")
    benchmark.extra_info.update(
        space=space, coordinates=where.size, steps=int(result.iterations[0]),
        gradient_seconds=gradient, gradients_per_step=step / gradient,
    )  # fmt: skip
    assert int(result.iterations[0]) == STEPS
