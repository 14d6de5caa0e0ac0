"""pytest-benchmark configuration and the shared problem fixtures for the kernel benchmarks here.

Threads: torch's intra-op thread count is set once, in ``pytest_configure``, from the environment
variable ``RSCBENCH_BENCH_THREADS`` (default 1: on a small shared machine more threads make the
median many times the minimum). The thread count is process-wide, so it also holds for any other
tests collected in the same pytest session. machine_info records the configured value, never a
value read back at run time (pytest-benchmark compares machine_info between saved runs, and the
hook may run at the start of one session and at the end of another).
"""

from __future__ import annotations

import os
import subprocess

import pytest
import torch
from problems import (
    CUDA_SKIP_REASON,
    DEVICES,
    REFERENCE_TOL,
    WIDTHS,
    Problem,
    Reference,
    build_problem,
    in_float64,
    problem_id,
)

from rscbench.measure.spaces import loss_hessian_extremes

THREADS_VARIABLE = "RSCBENCH_BENCH_THREADS"
DEFAULT_THREADS = 1
_configured_threads = pytest.StashKey[int]()


def _threads_from_environment() -> int:
    raw = os.environ.get(THREADS_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise pytest.UsageError(
            f"{THREADS_VARIABLE}={raw!r}: expected an integer >= 1 (torch intra-op threads)"
        )
    return threads


def pytest_configure(config: pytest.Config) -> None:
    """Set torch's intra-op thread count once for the session and remember the configured value."""
    threads = _threads_from_environment()
    torch.set_num_threads(threads)
    config.stash[_configured_threads] = threads


def _nvidia_smi() -> str | None:
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Add torch, CUDA and device facts (all fixed for the session) under machine_info["torch"]."""
    cuda = torch.cuda.is_available()
    machine_info["torch"] = {
        "version": torch.__version__,
        "git_version": torch.version.git_version,
        "cuda_available": cuda,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
        "configured_threads": config.stash.get(_configured_threads, None),
        "threads_variable": THREADS_VARIABLE,
    }
    machine_info["nvidia_smi"] = _nvidia_smi() if cuda else None


@pytest.fixture(scope="module", params=[(d, w) for d in DEVICES for w in WIDTHS], ids=problem_id)
def problem(request: pytest.FixtureRequest) -> Problem:
    """The paper network's benchmark problem at one width on one device (CUDA skipped without one)."""
    device, width = request.param
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip(CUDA_SKIP_REASON)
    return build_problem(device, width)


@pytest.fixture(scope="module")
def problem64(problem: Problem) -> Problem:
    """The same problem in float64 on the CPU (the reference of every error)."""
    return in_float64(problem)


@pytest.fixture(scope="module")
def reference(problem64: Problem) -> Reference:
    """Both extremes of the loss Hessian by float64 Lanczos at REFERENCE_TOL in the structured
    subspace (the exact non-zero spectrum)."""
    extremes = loss_hessian_extremes(
        problem64.model, problem64.X, problem64.y, tol=REFERENCE_TOL, space="structured"
    )
    assert extremes.converged, extremes
    assert extremes.lambda_max > abs(extremes.lambda_min), "power iteration would target lambda_min"
    return Reference(extremes.lambda_max, extremes.lambda_min)
