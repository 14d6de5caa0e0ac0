"""Each fast curvature kernel timed beside its baselines, on the paper's network (docs/kernels.md).

Network: depth 3, tanh, sigma1 = 1, d = 32, float32, inputs with ||x|| = sqrt(d) and Gaussian
targets, all drawn from fixed seeds. One table per kernel group and width:

* ``hvp``: one full-batch gradient; HVP by double backward from scratch; HVP reusing the
  first-order graph (only the product is timed, the operator is built once); forward-over-reverse.
* ``top-eigenvalue``: Lanczos (``hessian_extremes``, Ritz-residual rule on lambda_max alone and on both
  ends) against power iteration with the residual rule, the oracle rule (needs the answer) and the
  common relative-change rule.
* ``per-probe-norms``: ``predictor_hessian_spectra`` on 64 probes, structured vs loop vs vmap.
* ``ntk``: the NTK Gram matrix at n = 256, structured vs Jacobian contraction vs NTK-vector products.

Widths 64 and 128 by default (about 20 s with --benchmark-disable on 2 cores); 256 and 1024 with
``RSCBENCH_BENCH_FULL=1`` (about 15 min timed; the per-probe loop/vmap rows dominate). Speed is measured,
never asserted; every benchmark asserts the correctness of what it computed against a float64
reference of the same problem on the CPU (same float32 parameters and data, cast up), and stores
counts and errors in ``benchmark.extra_info``. With ``--benchmark-disable`` each body runs once.

CUDA variants: every benchmark also runs on the first CUDA device (ids ``cuda-m<width>``, groups
``<group> cuda m=<width>``), skipped with the reason where torch sees none. Their timed bodies end
with ``torch.cuda.synchronize()``, so a round measures the kernels and not the launch queue, and
``extra_info["cuda_max_memory_allocated_bytes"]`` records the device's peak allocation over the
timed rounds (host RSS does not see device memory).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pytest
import torch
from torch import Tensor

from rscbench.measure.hvp import HessianOperator
from rscbench.measure.lanczos import power_iteration, random_start
from rscbench.measure.losses import loss_function
from rscbench.measure.ntk import ntk_gram
from rscbench.measure.params import ScalarFn, detached_params
from rscbench.measure.predictor_hessian import predictor_hessian_spectra
from rscbench.measure.spectrum import HessianExtremes, hessian_extremes
from rscbench.models import PaperMLP, paper_mlp

FULL = os.environ.get("RSCBENCH_BENCH_FULL", "").strip() == "1"
WIDTHS = (256, 1024) if FULL else (64, 128)
DEVICES = ("cpu", "cuda")
CUDA_SKIP_REASON = "needs a CUDA device: torch.cuda.is_available() is False on this machine"

IN_DIM, DEPTH, ACTIVATION, SIGMA1 = 32, 3, "tanh", 1.0
N_TRAIN, N_PROBES = 256, 64
MODEL_SEED, DATA_SEED, VECTOR_SEED, START_SEED = 0, 20261124, 1, 0
DTYPE = torch.float32

TOL = 1e-3  # eigen solvers under test
REFERENCE_TOL = 1e-8  # the float64 Lanczos reference for the top eigenvalue
REFERENCE_MAX_ITER = 120
PROBE_REFERENCE_TOL = 1e-8
PROBE_REFERENCE_MAX_ITER = 200

# float32 results against the float64 reference of the same problem (measured errors are far smaller).
HVP_RTOL = 1e-4
NTK_RTOL = 1e-4
# Per-probe norms at tol 1e-3 stop on the Ritz residual rule (the library default), which bounds
# the distance to some eigenvalue by tol * norm: checked at 2 tol against the float64 reference.
PROBE_CERTIFIED_RTOL = 2 * TOL
PROBE_CROSS_CHECK_RTOL = 1e-6  # float64 structured vs float64 loop on one probe, both at tol 1e-8

FAST_ROUNDS = 20  # one gradient, one HVP, the structured kernels
SOLVER_ROUNDS = 3  # top-eigenvalue solvers
SLOW_ROUNDS = 2  # the generic NTK paths (seconds per call)
# Per-probe loop and vmap take 7-20 s a call at m=256 and minutes at m=1024 (full Lanczos
# reorthogonalization over p-sized vectors): one timed call, no warm-up, in the full run.
PROBE_GENERIC_ROUNDS, PROBE_GENERIC_WARMUP = (1, 0) if FULL else (2, 1)


@dataclass(frozen=True)
class Problem:
    """The paper's network with its training batch, in one dtype on one device; built once per width."""

    width: int
    model: PaperMLP
    X: Tensor
    y: Tensor
    loss: ScalarFn
    params: Mapping[str, Tensor]

    @property
    def dim(self) -> int:
        return sum(p.numel() for p in self.params.values())

    @property
    def device(self) -> torch.device:
        return self.X.device

    @property
    def key(self) -> tuple[str, int]:
        """(device type, width): what identifies this problem among the module's fixtures."""
        return (self.device.type, self.width)

    @property
    def probes(self) -> Tensor:
        return self.X[:N_PROBES]


def _make_problem(width: int, model: PaperMLP, X: Tensor, y: Tensor) -> Problem:
    model.requires_grad_(False)
    return Problem(
        width=width,
        model=model,
        X=X,
        y=y,
        loss=loss_function(model, X, y, "square"),
        params=MappingProxyType(detached_params(model)),
    )


def _problem_id(case: tuple[str, int]) -> str:
    device, width = case
    return f"m{width}" if device == "cpu" else f"{device}-m{width}"


@pytest.fixture(scope="module", params=[(d, w) for d in DEVICES for w in WIDTHS], ids=_problem_id)
def problem(request: pytest.FixtureRequest) -> Problem:
    device, width = request.param
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip(CUDA_SKIP_REASON)
    generator = torch.Generator().manual_seed(DATA_SEED)
    X = torch.randn(N_TRAIN, IN_DIM, generator=generator, dtype=torch.float64)
    X = (X * (math.sqrt(IN_DIM) / X.norm(dim=1, keepdim=True))).to(DTYPE)
    y = torch.randn(N_TRAIN, generator=generator, dtype=torch.float64).to(DTYPE)
    model = paper_mlp(IN_DIM, width, DEPTH, ACTIVATION, SIGMA1, seed=MODEL_SEED).to(DTYPE)
    return _make_problem(width, model.to(device), X.to(device), y.to(device))


@pytest.fixture(scope="module")
def problem64(problem: Problem) -> Problem:
    """The same problem in float64 on the CPU: the float32 parameters and data cast up exactly."""
    model = copy.deepcopy(problem.model).to("cpu", torch.float64)
    return _make_problem(
        problem.width, model, problem.X.to("cpu", torch.float64), problem.y.to("cpu", torch.float64)
    )


def _relative_error(value: Tensor, reference: Tensor) -> float:
    value, reference = value.to("cpu", torch.float64), reference.to("cpu", torch.float64)
    return float(torch.linalg.vector_norm(value - reference) / torch.linalg.vector_norm(reference))


def _run(benchmark, problem: Problem, target: Callable[[], object], rounds: int, warmup: int = 1):
    """Time ``target`` in the group "<marker group> [cuda ]m=<width>" and return its last result.

    On CUDA every timed call ends with a device synchronisation and the peak device allocation over
    the rounds is recorded.
    """
    cuda = problem.device.type == "cuda"
    device = "cuda " if cuda else ""
    benchmark.group = f"{benchmark.group} {device}m={problem.width}"
    benchmark.extra_info.update(
        width=problem.width,
        depth=DEPTH,
        n=N_TRAIN,
        params=problem.dim,
        dtype=str(DTYPE).removeprefix("torch."),
        device=problem.device.type,
    )
    if not cuda:
        return benchmark.pedantic(target, rounds=rounds, warmup_rounds=warmup, iterations=1)

    def synchronized() -> object:
        result = target()
        torch.cuda.synchronize()
        return result

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    result = benchmark.pedantic(synchronized, rounds=rounds, warmup_rounds=warmup, iterations=1)
    benchmark.extra_info["cuda_max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated()
    return result


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
    gradient = _run(benchmark, problem, lambda: _full_gradient(problem.loss, problem.params), FAST_ROUNDS)
    error = _relative_error(gradient, hvp_case.reference_gradient)
    benchmark.extra_info["rel_error_vs_float64"] = error
    assert error <= HVP_RTOL


@pytest.mark.parametrize("method", ["reuse", "double_backward", "forward_over_reverse"])
@pytest.mark.benchmark(group="hvp")
def test_hvp_1_product(benchmark, problem: Problem, hvp_case: HvpCase, method: str) -> None:
    # Built outside the timing: for "reuse" this builds the first-order graph once, as a solver would.
    operator = HessianOperator(problem.loss, problem.params, method)
    product = _run(benchmark, problem, lambda: operator.matvec(hvp_case.vector), FAST_ROUNDS)
    error = _relative_error(product, hvp_case.reference_product)
    benchmark.extra_info.update(method=method, rel_error_vs_float64=error)
    assert error <= HVP_RTOL


# --------------------------------------------------------------------------------------------------
# top-eigenvalue: Lanczos vs power iteration, HVP counts and errors against a tight reference
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def top_reference(problem64: Problem) -> HessianExtremes:
    """lambda_max of the loss Hessian by float64 Lanczos at tol 1e-8, computed once per width."""
    reference = hessian_extremes(
        problem64.loss, problem64.params, tol=REFERENCE_TOL, max_iter=REFERENCE_MAX_ITER, seed=START_SEED
    )
    assert reference.residual_max <= REFERENCE_TOL * reference.norm, reference
    assert reference.lambda_max > abs(reference.lambda_min), "power iteration would target lambda_min"
    return reference


def _record_top(benchmark, value: float, n_hvp: int, converged: bool, reference: HessianExtremes) -> float:
    error = abs(value - reference.lambda_max) / abs(reference.lambda_max)
    benchmark.extra_info.update(
        lambda_max=value,
        n_hvp=n_hvp,
        converged=converged,
        rel_error=error,
        reference_lambda_max=reference.lambda_max,
        reference="float64 Lanczos, tol 1e-8",
        tol=TOL,
    )
    return error


@pytest.mark.parametrize("target", ["largest", "both"])
@pytest.mark.benchmark(group="top-eigenvalue")
def test_top_0_lanczos(benchmark, problem: Problem, top_reference: HessianExtremes, target: str) -> None:
    # target "largest" stops on the lambda_max residual alone (the like-for-like row against power
    # iteration); "both" (the default) also waits for lambda_min, so its lambda_max ends far tighter.
    def run() -> HessianExtremes:
        return hessian_extremes(problem.loss, problem.params, tol=TOL, seed=START_SEED, target=target)

    result = _run(benchmark, problem, run, SOLVER_ROUNDS)
    error = _record_top(benchmark, result.lambda_max, result.n_hvp, result.converged, top_reference)
    benchmark.extra_info.update(
        target=target,
        stop_rule=result.stop_rule,
        residual_max=result.residual_max,
        lambda_min=result.lambda_min,
        residual_min=result.residual_min,
    )
    assert result.converged
    assert error <= TOL


@pytest.mark.parametrize("rule", ["residual", "oracle", "change"])
@pytest.mark.benchmark(group="top-eigenvalue")
def test_top_1_power(benchmark, problem: Problem, top_reference: HessianExtremes, rule: str) -> None:
    start = random_start(1, problem.dim, seed=START_SEED, dtype=DTYPE, device="cpu")[0].to(problem.device)
    reference = top_reference.lambda_max if rule == "oracle" else None

    def run():
        operator = HessianOperator(problem.loss, problem.params, "reuse")  # as hessian_extremes does
        return power_iteration(operator.matvec, start, tol=TOL, rule=rule, reference=reference)

    result = _run(benchmark, problem, run, SOLVER_ROUNDS)
    error = _record_top(benchmark, result.value, result.iterations, result.converged, top_reference)
    benchmark.extra_info.update(rule=rule, residual=result.residual)
    assert result.converged
    if rule != "change":  # the relative-change rule is the baseline known to stop early; no promise
        assert error <= TOL


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

    spectra = _run(benchmark, problem, run, rounds, warmup)
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
    assert bool(spectra.converged.all()) and set(spectra.stop_rule) <= {"residual", "invariant_subspace"}
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
    K = _run(benchmark, problem, lambda: ntk_gram(problem.model, problem.X, method=method), rounds)
    error = _relative_error(K, gram_reference)
    others = {
        other: _relative_error(K, theirs)
        for (key, other), theirs in _grams.items()
        if key == problem.key and other != method
    }
    _grams[(problem.key, method)] = K
    benchmark.extra_info.update(method=method, rel_error_vs_float64=error, rel_disagreement=others)
    assert K.shape == (N_TRAIN, N_TRAIN)
    assert error <= NTK_RTOL
