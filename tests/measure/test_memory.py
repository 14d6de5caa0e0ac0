"""The memory model (rscbench.measure.memory): its bounds against measured peaks, task plans, budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rscbench.measure import memory
from rscbench.measure.lanczos import WORK_VECTORS
from rscbench.measure.memory import MemoryBudgetError, Sizes
from rscbench.models import paper_mlp

ROOT = Path(__file__).resolve().parents[2]
MEASURED = (
    "loss_hessian",
    "predictor_hessian",
    "rsc_certificate",
    "block_norms",
    "ntk_products",
    "loss_hessian_trace",
    "loss_hessian_density",
    "preconditioned_sharpness",
)
UPPER_FACTOR = 2.0
"""Each main kernel's estimate (at the steps taken) is within this factor above its measured peak;
measured at width 384, depth 2, n 128, 32 Lanczos steps (32 trace products): 1.05-1.65."""


def _can_reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _can_reset_peak(), reason="needs Linux /proc/self/clear_refs to reset VmHWM")
def test_estimates_bound_the_measured_peaks_within_a_stated_factor() -> None:
    # One child process, each kernel warmed up on a tiny network, then measured after a VmHWM reset;
    # tol 1e-9 with max_iter 32 makes every Lanczos run take exactly 32 steps.
    command = [sys.executable, str(ROOT / "benchmarks" / "peak_memory.py"), "--child"]
    command += ["--width", "384", "--depth", "2", "--n", "128", "--d", "16", "--probes", "16"]
    command += ["--max-iter", "32", "--tol", "1e-9"]
    for kernel in MEASURED:
        command += ["--kernel", kernel]
    env = os.environ | {"MALLOC_MMAP_THRESHOLD_": "131072", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env, timeout=300)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["kernel"] for row in rows] == list(MEASURED)
    for row in rows:
        assert row["peak_mib"] > 1, row  # large enough to be measured above page noise
        assert row["peak_mib"] <= row["estimate_at_steps_mib"] <= UPPER_FACTOR * row["peak_mib"], row


def test_loss_hessian_grows_by_one_vector_per_basis_vector() -> None:
    sizes = Sizes.paper(256, 32, 512, 3)
    small, large = (memory.loss_hessian_bytes(sizes, k).bytes for k in (16, 48))
    assert large - small == 32 * sizes.vector + memory.TRIDIAGONAL_COPIES * 8 * (48**2 - 16**2)
    assert sizes.parameters == 512 * 32 + 2 * 512 * 512 + 512


def test_step_cap_is_the_largest_that_fits() -> None:
    size, itemsize = 10_000, 4
    budget = 50 * size * itemsize
    cap = memory.lanczos_step_cap(budget, size, itemsize)
    assert memory.lanczos_bytes(cap, size, itemsize) + size * itemsize <= budget
    assert memory.lanczos_bytes(cap + 1, size, itemsize) + size * itemsize > budget
    assert memory.lanczos_step_cap(10**12, 20, 8) == 20  # never more steps than the dimension
    with pytest.raises(MemoryBudgetError) as refused:
        memory.lanczos_step_cap((WORK_VECTORS + 1) * size * itemsize, size, itemsize)
    assert refused.value.kernel == "lanczos"


def test_saved_activations_of_the_paper_network_are_within_its_formula() -> None:
    model = paper_mlp(16, 64, 3, "tanh", 1.0)
    X = torch.randn(10, 16, generator=torch.Generator().manual_seed(1))
    params = {name: p.detach() for name, p in model.named_parameters()}
    measured = memory.saved_activation_bytes(
        lambda q, x: torch.func.functional_call(model, q, (x,)), params, X
    )
    # The L activations of every row (X and the parameters are not counted): 10 * 3 * 64 * 4 bytes.
    assert measured == 10 * 3 * 64 * 4 <= Sizes.paper(10, 16, 64, 3).act()
