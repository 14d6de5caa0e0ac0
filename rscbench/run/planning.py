"""Plan a run before anything runs: check its inputs, estimate each task's memory and time, and
refuse what cannot fit, as data a script or the CLI can read.

:func:`plan_run` is what ``rscbench run`` (and ``--dry-run``) calls; a script that drives the
library gets the same checks and numbers from it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from rscbench.data import load_dataset
from rscbench.errors import RscbenchError, require_integer
from rscbench.measure.memory import MemoryEstimate
from rscbench.run.device_memory import available_memory_bytes
from rscbench.run.specs import TaskSpec
from rscbench.run.suites import Suite
from rscbench.run.task_memory import estimate_memory
from rscbench.store import ResultStore

__all__ = ["STORE_NAME", "RunPlan", "TaskPlan", "check_inputs", "plan_run", "task_budget_bytes"]

STORE_NAME = "store.sqlite"
"""The store's file name inside a run directory."""


@dataclass(frozen=True)
class TaskPlan:
    """One task of a plan: its ``experiment``, estimated peak ``memory``, whether it is already
    ``stored``, and ``estimated_seconds`` (the median wall time of the stored tasks of its
    experiment; None when none is stored, or 0 when the task itself is stored)."""

    task: TaskSpec
    experiment: str
    memory: MemoryEstimate
    stored: bool
    estimated_seconds: float | None


@dataclass(frozen=True)
class RunPlan:
    """What a run of ``suite`` would do: every task's plan and the memory budget per task (bytes)."""

    suite: Suite
    tasks: tuple[TaskPlan, ...]
    budget_bytes: int

    @property
    def over_budget(self) -> list[TaskPlan]:
        """Tasks whose estimated peak exceeds the budget."""
        return [plan for plan in self.tasks if plan.memory.total_bytes > self.budget_bytes]

    @property
    def stored(self) -> int:
        """How many tasks are already in the store."""
        return sum(plan.stored for plan in self.tasks)

    @property
    def estimated_seconds(self) -> float:
        """Summed time estimate of the tasks still to run that have a measured peer, in seconds."""
        return sum(plan.estimated_seconds or 0.0 for plan in self.tasks if not plan.stored)

    @property
    def unknown_time(self) -> int:
        """Tasks still to run with no measured peer (no time estimate)."""
        return sum(1 for plan in self.tasks if not plan.stored and plan.estimated_seconds is None)

    @property
    def peak_bytes(self) -> int:
        """The largest task's estimated peak memory, in bytes."""
        return max((plan.memory.total_bytes for plan in self.tasks), default=0)

    def check_memory(self) -> None:
        """Raise RscbenchError naming the largest task that does not fit the budget, if any."""
        over = self.over_budget
        if not over:
            return
        worst = max(over, key=lambda plan: plan.memory.total_bytes)
        largest, mib, task = worst.memory.largest, 2**20, worst.task
        raise RscbenchError(
            f"memory: {len(over)} of {len(self.tasks)} tasks do not fit the budget of "
            f"{self.budget_bytes / mib:.0f} MiB per task; the largest, {task.task_id} "
            f"(width={task.model.width}, depth={task.model.depth}), needs an estimated "
            f"{worst.memory.total_bytes / mib:.0f} MiB ({largest.name}: {largest.formula}); "
            "run it on a larger device, lower --workers or set --memory-budget"
        )


def check_inputs(tasks: Sequence[TaskSpec]) -> None:
    """Refuse, before anything runs, what would fail every task: CUDA absent, an unreadable npz file."""
    if any(task.device == "cuda" for task in tasks) and not torch.cuda.is_available():
        raise RscbenchError("invalid --device='cuda': no CUDA device is available here; allowed: cpu")
    for data in {task.data for task in tasks if task.data.dataset.startswith("npz:")}:
        load_dataset(data.dataset, n=data.n, d=data.d, seed=data.dataset_seed, targets=data.targets)


def task_budget_bytes(
    tasks: Sequence[TaskSpec], *, workers: int = 1, memory_budget_bytes: int | None = None
) -> int:
    """Bytes one task may use: ``memory_budget_bytes``, else the least free memory of the tasks'
    devices, shared among ``workers`` local workers."""
    require_integer("workers", workers, 1)
    if memory_budget_bytes is not None:
        return memory_budget_bytes // workers
    devices = {task.device for task in tasks} or {"cpu"}
    return min(available_memory_bytes(device) for device in devices) // workers


def _stored_walls(store_path: Path | None, experiments: dict[str, str]) -> tuple[set[str], dict[str, list]]:
    """Ids stored in ``store_path`` and, per experiment of the suite, their wall times (seconds)."""
    stored: set[str] = set()
    walls: dict[str, list[float]] = {}
    if store_path is None or not Path(store_path).is_file():
        return stored, walls
    with ResultStore(store_path) as store:
        for record in store.records():
            stored.add(record.task_id)
            if record.task_id in experiments:
                walls.setdefault(experiments[record.task_id], []).append(record.wall_seconds)
    return stored, walls


def plan_run(
    suite: Suite,
    *,
    store_path: str | Path | None = None,
    workers: int = 1,
    memory_budget_bytes: int | None = None,
    tasks: Sequence[TaskSpec] | None = None,
) -> RunPlan:
    """The plan of running ``tasks`` (default: all of ``suite``) into the store at ``store_path``.

    Checks the inputs first (:func:`check_inputs`); each task gets its memory estimate
    (rscbench.run.task_memory) and, when not yet stored, a time estimate: the median wall time of
    the stored tasks of its experiment (unknown, never guessed, when none is stored). The budget is
    :func:`task_budget_bytes`. Nothing runs and nothing is written.
    """
    chosen = list(suite.tasks() if tasks is None else tasks)
    check_inputs(chosen)
    budget = task_budget_bytes(chosen, workers=workers, memory_budget_bytes=memory_budget_bytes)
    experiments = suite.experiment_of()
    stored, walls = _stored_walls(None if store_path is None else Path(store_path), experiments)
    plans = []
    for task in chosen:
        experiment = experiments[task.task_id]
        done = task.task_id in stored
        peers = walls.get(experiment)
        seconds = 0.0 if done else (statistics.median(peers) if peers else None)
        plans.append(TaskPlan(task, experiment, estimate_memory(task), done, seconds))
    return RunPlan(suite, tuple(plans), budget)
