"""Frozen, seeded fixtures of the asv suite, and the choice between its quick and full grids.

APPEND ONLY. asv keeps a history per benchmark and parameter; a fixture whose meaning changes
silently breaks that history. Never edit or remove an entry here: add a new one (a new width, seed
or task) at the end of its tuple. tests/benchmarks/test_asv_fixtures.py holds the digest of
every fixture and fails when one changes.

The quick subset runs by default (one asv run of it takes a few minutes on two CPU cores); the
full grid, a superset, runs with ``RSCBENCH_BENCH_FULL=1`` in the environment of ``asv run`` (the
same variable as the pytest-benchmark suite's). The kernel widths live in grids.py, which imports
no torch, so that the CUDA benchmarks can skip without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rscbench.run.specs import DataSpec, ModelSpec, ProtocolSpec, TaskSpec

from .grids import full_grid


@dataclass(frozen=True)
class KernelProblemSpec:
    """The network and batch the kernel benchmarks run on, at every width (docs/kernels.md).

    The paper's MLP (``depth`` hidden layers, ``activation``, ``sigma1``) on ``n`` inputs of the
    ``in_dim``-sphere dataset; the per-probe norms use its first ``probes`` rows; the HVP uses a
    unit vector drawn with ``vector_seed``; one GD step uses the step size ``eta``.
    """

    in_dim: int = 32
    depth: int = 3
    activation: str = "tanh"
    sigma1: float = 1.0
    n: int = 256
    probes: int = 64
    data_seed: int = 20261124
    model_seed: int = 0
    vector_seed: int = 1
    solver_seed: int = 0
    tol: float = 1e-3
    eta: float = 0.1


KERNEL_PROBLEM = KernelProblemSpec()


# Width scaling at initialization (Q1, Q4): predictor-Hessian norm and ||g_bar||^2 across widths.
SCALING_WIDTHS = (32, 64, 128, 256, 512, 1024)
SCALING_SEEDS = (0, 1, 2, 3)
QUICK_SCALING_WIDTHS = (32, 64, 128, 256)
QUICK_SCALING_SEEDS = (0, 1)


def _scaling_task(width: int, seed: int) -> TaskSpec:
    return TaskSpec(
        model=ModelSpec(width=width, depth=2),
        data=DataSpec(dataset="sphere", n=32, d=8),
        loss="square",
        protocol=ProtocolSpec(quantities=("Q1", "Q4"), probes=8),
        seed=seed,
    )


SCALING_TASKS: dict[str, TaskSpec] = {
    f"scaling-m{width}-s{seed}": _scaling_task(width, seed)
    for width in SCALING_WIDTHS
    for seed in SCALING_SEEDS
}


# Gradient descent (Q9) with the RSC certificate at its checkpoints (Q6).
GD_LOSSES = ("square", "logistic")
GD_WIDTHS = (256, 1024)
GD_SEEDS = (0, 1, 2, 3)
QUICK_GD_WIDTHS = (256,)
QUICK_GD_SEEDS = (0,)


def _gd_task(loss: str, width: int, seed: int) -> TaskSpec:
    return TaskSpec(
        model=ModelSpec(width=width, depth=2),
        data=DataSpec(dataset="sphere", n=32, d=8),
        loss=loss,
        protocol=ProtocolSpec(
            quantities=("Q4",), probes=8, gd_steps=200, target_ratio=1e-2, beta_every=10, rsc_every=10
        ),
        seed=seed,
    )


GD_TASKS: dict[str, TaskSpec] = {
    f"gd-{loss}-m{width}-s{seed}": _gd_task(loss, width, seed)
    for loss in GD_LOSSES
    for width in GD_WIDTHS
    for seed in GD_SEEDS
}


def scaling_tasks() -> dict[str, TaskSpec]:
    """The width-scaling fixtures of the current grid, by name."""
    if full_grid():
        return dict(SCALING_TASKS)
    names = {f"scaling-m{w}-s{s}" for w in QUICK_SCALING_WIDTHS for s in QUICK_SCALING_SEEDS}
    return {name: spec for name, spec in SCALING_TASKS.items() if name in names}


def gd_tasks() -> dict[str, TaskSpec]:
    """The gradient-descent fixtures of the current grid, by name."""
    if full_grid():
        return dict(GD_TASKS)
    names = {f"gd-{loss}-m{w}-s{s}" for loss in GD_LOSSES for w in QUICK_GD_WIDTHS for s in QUICK_GD_SEEDS}
    return {name: spec for name, spec in GD_TASKS.items() if name in names}
