"""Each fast curvature kernel timed beside its baselines, on the paper's network (docs/kernels.md).

The problem and its helpers are in problems.py (fixtures in conftest.py). One table per kernel
group and width:

* ``hvp``: one full-batch gradient; a plain ``torch.autograd.grad(g, params, grad_outputs=v,
  retain_graph=True)`` on a kept gradient graph (the product a PyHessian-style solver takes;
  measured as a baseline, not its code); rscbench's HVP reusing the first-order graph (only the
  product is timed, the operator is built once), by double backward from scratch, by
  forward-over-reverse; and a product in the structured subspace of the loss Hessian.
* ``per-probe-norms``: ``predictor_hessian_spectra`` on 64 probes, structured vs loop vs vmap.
* ``ntk``: the NTK Gram matrix at n = 256, structured vs Jacobian contraction vs NTK-vector products.

The top eigenvalue against its peers is in bench_top_eigenvalue.py. Widths 64 and 128 by default
(about 20 s with --benchmark-disable on 2 cores); 256 and 1024 with ``RSCBENCH_BENCH_FULL=1``
(about 15 min timed; the per-probe loop/vmap rows dominate); any list with
``RSCBENCH_BENCH_WIDTHS``. Speed is measured, never asserted; every benchmark asserts the
correctness of what it computed against a float64 reference of the same problem on the CPU, and
stores counts and errors in ``benchmark.extra_info``. With ``--benchmark-disable`` each body runs
once.

CUDA variants: every benchmark also runs on the first CUDA device (ids ``cuda-m<width>``, groups
``<group> cuda m=<width>``), skipped with the reason where torch sees none. Their timed bodies end
with ``torch.cuda.synchronize()``, so a round measures the kernels and not the launch queue, and
``extra_info["cuda_max_memory_allocated_bytes"]`` records the device's peak allocation over the
timed rounds (host RSS does not see device memory).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest
import torch
from problems import (
    DTYPE,
    FAST_ROUNDS,
    HVP_RTOL,
    N_PROBES,
    N_TRAIN,
    NTK_RTOL,
    PROBE_CERTIFIED_RTOL,
    PROBE_CROSS_CHECK_RTOL,
    PROBE_GENERIC_ROUNDS,
    PROBE_GENERIC_WARMUP,
    PROBE_REFERENCE_MAX_ITER,
    PROBE_REFERENCE_TOL,
    SLOW_ROUNDS,
    START_SEED,
    TOL,
    VECTOR_SEED,
    Problem,
    relative_error,
    timed,
)
from torch import Tensor

from rscbench.measure.hvp import HessianOperator
from rscbench.measure.krylov import random_start
from rscbench.measure.ntk import ntk_gram
from rscbench.measure.params import ScalarFn
from rscbench.measure.predictor_hessian import predictor_hessian_spectra
from rscbench.measure.spaces import StructuredSpace

# --------------------------------------------------------------------------------------------------
# hvp: one gradient vs three exact Hessian-vector products
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HvpCase:
    vector: Tensor
    reference_product: Tensor
    reference_gradient: Tensor


@pytest.fixture(scope="module")
def hvp_case(problem: Problem, problem64: Problem) -> HvpCase:
    vector = random_start(1, problem.dim, seed=VECTOR_SEED, dtype=DTYPE, device="cpu")[0].to(problem.device)
    reference = HessianOperator(problem64.loss, problem64.params, "double_backward")
    return HvpCase(vector, reference.matvec(vector.to("cpu", torch.float64)), reference.gradient())


def _full_gradient(loss: ScalarFn, params: Mapping[str, Tensor]) -> Tensor:
    leaves = {name: value.detach().requires_grad_(True) for name, value in params.items()}
    grads = torch.autograd.grad(loss(leaves), list(leaves.values()))
    return torch.cat([g.reshape(-1) for g in grads])


@pytest.mark.benchmark(group="hvp")
def test_hvp_0_gradient(benchmark, problem: Problem, hvp_case: HvpCase) -> None:
    gradient = timed(benchmark, problem, lambda: _full_gradient(problem.loss, problem.params), FAST_ROUNDS)
    error = relative_error(gradient, hvp_case.reference_gradient)
    benchmark.extra_info["rel_error_vs_float64"] = error
    assert error <= HVP_RTOL


@pytest.mark.benchmark(group="hvp")
def test_hvp_1_plain_kept_graph(benchmark, problem: Problem, hvp_case: HvpCase) -> None:
    # The baseline: one autograd call per product on a gradient graph built once and kept.
    leaves = [value.detach().clone().requires_grad_(True) for value in problem.params.values()]
    gradient = torch.autograd.grad(
        problem.loss(dict(zip(problem.params, leaves, strict=True))), leaves, create_graph=True
    )
    vector = [
        piece.reshape(leaf.shape)
        for piece, leaf in zip(hvp_case.vector.split([p.numel() for p in leaves]), leaves, strict=True)
    ]

    def product() -> tuple[Tensor, ...]:
        return torch.autograd.grad(gradient, leaves, grad_outputs=vector, retain_graph=True)

    pieces = timed(benchmark, problem, product, FAST_ROUNDS)
    error = relative_error(torch.cat([piece.reshape(-1) for piece in pieces]), hvp_case.reference_product)
    benchmark.extra_info.update(method="plain kept-graph autograd.grad", rel_error_vs_float64=error)
    assert error <= HVP_RTOL


@pytest.mark.parametrize("method", ["reuse", "double_backward", "forward_over_reverse"])
@pytest.mark.benchmark(group="hvp")
def test_hvp_2_product(benchmark, problem: Problem, hvp_case: HvpCase, method: str) -> None:
    # Built outside the timing: for "reuse" this builds the first-order graph once, as a solver would.
    operator = HessianOperator(problem.loss, problem.params, method)
    product = timed(benchmark, problem, lambda: operator.matvec(hvp_case.vector), FAST_ROUNDS)
    error = relative_error(product, hvp_case.reference_product)
    benchmark.extra_info.update(method=method, rel_error_vs_float64=error)
    assert error <= HVP_RTOL


@pytest.mark.benchmark(group="hvp")
def test_hvp_3_structured(benchmark, problem: Problem, problem64: Problem) -> None:
    # A product in the structured subspace S (its vectors have dim S coordinates, not p); checked
    # against Psi^T H Psi in float64, H by double backward in parameter space.
    space = StructuredSpace(problem.model, problem.X, problem.y, "square")
    reference_space = StructuredSpace(problem64.model, problem64.X, problem64.y, "square")
    start = random_start(1, space.size, seed=VECTOR_SEED, dtype=torch.float64, device="cpu")[0]
    coords64 = reference_space.project(start)
    coords = coords64.to(problem.device, problem.X.dtype)
    product = timed(benchmark, problem, lambda: space.hessian(coords), FAST_ROUNDS)
    operator = HessianOperator(problem64.loss, problem64.params, "double_backward")
    layout = operator.layout
    image = operator.matvec(layout.flatten(reference_space.subspace.embed(coords64)))
    reference = reference_space.subspace.coordinates_of(layout.unflatten(image))
    error = relative_error(product, reference)
    benchmark.extra_info.update(
        method="structured subspace", coordinates=space.size, complement=space.complement,
        rel_error_vs_float64=error,
    )  # fmt: skip
    assert error <= HVP_RTOL


# --------------------------------------------------------------------------------------------------
# per-probe-norms: max_i ||nabla^2_theta f(theta; x_i)||_2 on 64 probes by three strategies
# --------------------------------------------------------------------------------------------------

_probe_norms: dict[tuple[tuple[str, int], str], Tensor] = {}  # filled as strategies run, for extra_info only


@pytest.fixture(scope="module")
def probe_reference(problem64: Problem) -> Tensor:
    """Per-probe norms by the float64 structured path, certified by the residual rule at tol 1e-8.

    Its first probe is checked against the generic float64 loop, which shares no code with the
    structured reduction.
    """

    def certified(strategy: str, probes: Tensor) -> Tensor:
        spectra = predictor_hessian_spectra(
            problem64.model,
            probes,
            strategy=strategy,
            tol=PROBE_REFERENCE_TOL,
            max_iter=PROBE_REFERENCE_MAX_ITER,
            seed=START_SEED,
        )
        assert spectra.stop_rule == ("residual",) * probes.shape[0], spectra.stop_rule
        return spectra.norms

    norms = certified("structured", problem64.probes)
    generic = certified("loop", problem64.probes[:1])
    assert float((generic[0] - norms[0]).abs() / norms[0]) <= PROBE_CROSS_CHECK_RTOL
    return norms


@pytest.mark.parametrize("strategy", ["structured", "loop", "vmap"])
@pytest.mark.benchmark(group="per-probe-norms")
def test_probe_norms(benchmark, problem: Problem, probe_reference: Tensor, strategy: str) -> None:
    rounds, warmup = (
        (FAST_ROUNDS, 1) if strategy == "structured" else (PROBE_GENERIC_ROUNDS, PROBE_GENERIC_WARMUP)
    )

    def run():
        return predictor_hessian_spectra(
            problem.model, problem.probes, strategy=strategy, tol=TOL, seed=START_SEED
        )

    spectra = timed(benchmark, problem, run, rounds, warmup)
    norms = spectra.norms.to("cpu", torch.float64)
    errors = (norms - probe_reference).abs() / probe_reference
    error = float(errors.max())
    others = {
        other: float(((norms - theirs).abs() / theirs).max())
        for (key, other), theirs in _probe_norms.items()
        if key == problem.key and other != strategy
    }
    _probe_norms[(problem.key, strategy)] = norms
    stop_rules = {rule: spectra.stop_rule.count(rule) for rule in sorted(set(spectra.stop_rule))}
    benchmark.extra_info.update(
        strategy=strategy,
        probes=N_PROBES,
        max_norm=float(norms.max()),
        max_norm_rel_error=float((norms.max() - probe_reference.max()).abs() / probe_reference.max()),
        max_rel_error_vs_reference=error,
        probes_above_tol=int((errors > TOL).sum()),
        max_rel_disagreement=others,
        hvp_per_probe_mean=float(spectra.iterations.double().mean()),
        hvp_per_probe_max=int(spectra.iterations.max()),
        stop_rules=stop_rules,
        converged=int(spectra.converged.sum()),
    )
    rules = {"residual", "invariant_subspace"}
    assert bool(spectra.converged.all()) and set(spectra.stop_rule) <= rules
    assert error <= PROBE_CERTIFIED_RTOL


# --------------------------------------------------------------------------------------------------
# ntk: the n x n Gram matrix by the structured formula, Jacobian contraction and NTK-vector products
# --------------------------------------------------------------------------------------------------

_grams: dict[tuple[tuple[str, int], str], Tensor] = {}


@pytest.fixture(scope="module")
def gram_reference(problem64: Problem) -> Tensor:
    """The float64 Gram matrix by the structured formula; the Jacobian and products paths, which do
    not share its code, must agree with it, and the float32 structured result must match it."""
    return ntk_gram(problem64.model, problem64.X, method="structured")


@pytest.mark.parametrize("method", ["structured", "jacobian", "products"])
@pytest.mark.benchmark(group="ntk")
def test_ntk_gram(benchmark, problem: Problem, gram_reference: Tensor, method: str) -> None:
    rounds = FAST_ROUNDS if method == "structured" else SLOW_ROUNDS
    K = timed(benchmark, problem, lambda: ntk_gram(problem.model, problem.X, method=method), rounds)
    error = relative_error(K, gram_reference)
    others = {
        other: relative_error(K, theirs)
        for (key, other), theirs in _grams.items()
        if key == problem.key and other != method
    }
    _grams[(problem.key, method)] = K
    benchmark.extra_info.update(method=method, rel_error_vs_float64=error, rel_disagreement=others)
    assert K.shape == (N_TRAIN, N_TRAIN)
    assert error <= NTK_RTOL
