"""The benchmarks' shared problem: the paper's network and its batch, timing and error helpers.

Network: depth 3, tanh, sigma1 = 1, d = 32, float32, inputs with ||x|| = sqrt(d) and Gaussian
targets, all drawn from fixed seeds; n = 256 training rows, the first 64 of them as probes. The
fixtures ``problem`` (per device and width) and ``problem64`` (the same problem in float64 on the
CPU, the float32 parameters and data cast up) are in conftest.py.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import Tensor

from rscbench.measure.losses import loss_function
from rscbench.measure.params import ScalarFn, detached_params
from rscbench.models import PaperMLP, paper_mlp

FULL = os.environ.get("RSCBENCH_BENCH_FULL", "").strip() == "1"


def _widths() -> tuple[int, ...]:
    listed = os.environ.get("RSCBENCH_BENCH_WIDTHS", "").strip()
    if listed:
        return tuple(int(width) for width in listed.split(","))
    return (256, 1024) if FULL else (64, 128)


WIDTHS = _widths()
"""Widths of every benchmark: 64, 128; 256, 1024 with RSCBENCH_BENCH_FULL=1; or a comma list in
RSCBENCH_BENCH_WIDTHS (e.g. 256,1024,2048 with -k top for the issue's comparison)."""
DEVICES = ("cpu", "cuda")
CUDA_SKIP_REASON = "needs a CUDA device: torch.cuda.is_available() is False on this machine"

IN_DIM, DEPTH, ACTIVATION, SIGMA1 = 32, 3, "tanh", 1.0
N_TRAIN, N_PROBES = 256, 64
MODEL_SEED, DATA_SEED, VECTOR_SEED, START_SEED = 0, 20261124, 1, 0
DTYPE = torch.float32

TOL = 1e-3  # eigen solvers under test
REFERENCE_TOL = 1e-10  # the float64 Lanczos reference of the loss Hessian's extremes
PROBE_REFERENCE_TOL = 1e-8
PROBE_REFERENCE_MAX_ITER = 200

# float32 results against the float64 reference of the same problem (measured errors are far smaller).
HVP_RTOL = 1e-4
NTK_RTOL = 1e-4
# Per-probe norms at tol 1e-3 stop on the Ritz residual rule (their kernel's bound), which bounds
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


@dataclass(frozen=True)
class Reference:
    """The float64 extremes of the problem's loss Hessian."""

    lambda_max: float
    lambda_min: float

    @property
    def norm(self) -> float:
        return max(self.lambda_max, -self.lambda_min)


def make_problem(width: int, model: PaperMLP, X: Tensor, y: Tensor) -> Problem:
    model.requires_grad_(False)
    return Problem(
        width=width,
        model=model,
        X=X,
        y=y,
        loss=loss_function(model, X, y, "square"),
        params=MappingProxyType(detached_params(model)),
    )


def problem_id(case: tuple[str, int]) -> str:
    device, width = case
    return f"m{width}" if device == "cpu" else f"{device}-m{width}"


def relative_error(value: Tensor, reference: Tensor) -> float:
    value, reference = value.to("cpu", torch.float64), reference.to("cpu", torch.float64)
    return float(torch.linalg.vector_norm(value - reference) / torch.linalg.vector_norm(reference))


def timed(benchmark, problem: Problem, target: Callable[[], object], rounds: int, warmup: int = 1):
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


def build_problem(device: str, width: int) -> Problem:
    """The float32 problem at ``width`` on ``device``, from the fixed seeds."""
    generator = torch.Generator().manual_seed(DATA_SEED)
    X = torch.randn(N_TRAIN, IN_DIM, generator=generator, dtype=torch.float64)
    X = (X * (math.sqrt(IN_DIM) / X.norm(dim=1, keepdim=True))).to(DTYPE)
    y = torch.randn(N_TRAIN, generator=generator, dtype=torch.float64).to(DTYPE)
    model = paper_mlp(IN_DIM, width, DEPTH, ACTIVATION, SIGMA1, seed=MODEL_SEED).to(DTYPE)
    return make_problem(width, model.to(device), X.to(device), y.to(device))


def in_float64(problem: Problem) -> Problem:
    """The same problem in float64 on the CPU: the float32 parameters and data cast up exactly."""
    model = copy.deepcopy(problem.model).to("cpu", torch.float64)
    return make_problem(
        problem.width, model, problem.X.to("cpu", torch.float64), problem.y.to("cpu", torch.float64)
    )
