"""Plan a run before anything runs: check its inputs, estimate each task's memory and time, and
refuse what cannot fit, as data a script or the CLI can read.

:func:`plan_run` is what ``rscbench run`` (and ``--dry-run``) calls; a script that drives the
library gets the same checks and numbers from it. Times come from the cost model
(rscbench.run.cost_model) calibrated on the committed reports and the run's store; a plan for a
device this machine lacks (``require_devices=False``: the dry run) uses the model's stated
assumption for it and leaves the memory budget unknown unless one is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from rscbench.data import DataShape, load_dataset
from rscbench.errors import InvalidArgumentError, RscbenchError, require_integer
from rscbench.measure.memory import MemoryEstimate
from rscbench.models.factories import check_factory
from rscbench.run.builders import build_task_model, parameter_count, task_data_shape
from rscbench.run.cost_model import CostModel, calibrate, calibration_records, paper_parameters
from rscbench.run.device_memory import available_memory_bytes
from rscbench.run.specs import DataSpec, TaskSpec
from rscbench.run.suites import Selection, Suite
from rscbench.run.task_memory import task_memory_estimate
from rscbench.store import ResultStore, TaskRecord

__all__ = [
    "STORE_NAME",
    "RunPlan",
    "TaskPlan",
    "check_inputs",
    "cost_model_for",
    "plan_run",
    "task_budget_bytes",
]

STORE_NAME = "store.sqlite"
"""The store's file name inside a run directory."""


@dataclass(frozen=True)
class TaskPlan:
    """One task of a plan: its ``experiment``, estimated peak ``memory``, whether it is already
    ``stored``, and ``estimated_seconds`` (the cost model's wall time; None when there is no model)."""

    task: TaskSpec
    experiment: str
    memory: MemoryEstimate
    stored: bool
    estimated_seconds: float | None


@dataclass(frozen=True)
class RunPlan:
    """What a run of ``suite`` would do: every task's plan, the memory budget per task (bytes; None
    when unknown: the device is absent and no budget was given) and the cost model behind the
    times of each device (None: no calibration data, those times unknown); ``selection`` is the
    part of the suite planned (None or empty: all of it)."""

    suite: Suite
    tasks: tuple[TaskPlan, ...]
    budget_bytes: int | None
    cost_models: dict[str, CostModel | None]
    selection: Selection | None = None

    @property
    def over_budget(self) -> list[TaskPlan]:
        """Tasks whose estimated peak exceeds the budget (none when the budget is unknown)."""
        if self.budget_bytes is None:
            return []
        return [plan for plan in self.tasks if plan.memory.total_bytes > self.budget_bytes]

    @property
    def stored(self) -> int:
        """How many tasks are already in the store."""
        return sum(plan.stored for plan in self.tasks)

    @property
    def estimated_seconds(self) -> float:
        """Summed time estimate of the tasks still to run that have one, in seconds."""
        return sum(plan.estimated_seconds or 0.0 for plan in self.tasks if not plan.stored)

    @property
    def unknown_time(self) -> int:
        """Tasks still to run without a time estimate (no cost model for their device)."""
        return sum(1 for plan in self.tasks if not plan.stored and plan.estimated_seconds is None)

    @property
    def pending(self) -> int:
        """Tasks still to run."""
        return len(self.tasks) - self.stored

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


def check_inputs(tasks: Sequence[TaskSpec], *, require_devices: bool = True) -> None:
    """Refuse, before anything runs or is stored, what would fail every task: CUDA absent (unless
    ``require_devices`` is False), an unreadable npz file, a mini-batch larger than the dataset's
    default n, a factory model that cannot be imported, does not build, does not give one scalar
    per input, or is not reproducible (two builds from one seed must give the same parameters:
    rscbench.models.factories.check_factory)."""
    if require_devices and any(task.device == "cuda" for task in tasks) and not torch.cuda.is_available():
        raise RscbenchError("invalid --device='cuda': no CUDA device is available here; allowed: cpu")
    for data in {task.data for task in tasks if task.data.dataset.startswith("npz:")}:
        load_dataset(data.dataset, n=data.n, d=data.d, seed=data.dataset_seed, targets=data.targets)
    for task in tasks:
        batch = task.protocol.batch_size
        if batch is not None and task.data.n is None and batch > (n := task_data_shape(task).n):
            raise InvalidArgumentError(
                "protocol.batch_size", batch, f"an integer in [1, n = {n}] (the dataset's n)"
            )
    checked = set()
    for task in tasks:
        key = (task.model.arch, task.model.width, task.model.depth, task.data)
        if task.model.is_factory and key not in checked:
            checked.add(key)
            in_dim = task_data_shape(task).d
            check_factory(task.model.arch, in_dim=in_dim, width=task.model.width, depth=task.model.depth)


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


def _stored_ids(store_path: Path | None) -> set[str]:
    if store_path is None or not Path(store_path).is_file():
        return set()
    with ResultStore(store_path) as store:
        return store.task_ids()


def cost_model_for(device: str, records: Sequence[TaskRecord]) -> CostModel | None:
    """The cost model of ``device`` calibrated on ``records`` (rscbench.run.cost_model): fitted to
    those of that device kind, else (for CUDA) the CPU model with its stated GPU assumption; None
    without enough records."""
    model = calibrate(records, device)
    if model is None and device == "cuda":
        cpu = calibrate(records, "cpu")
        model = cpu.for_device("cuda") if cpu is not None else None
    return model


def _parameters(task: TaskSpec, data: DataShape, model: torch.nn.Module | None) -> int:
    if model is not None:
        return parameter_count(model)
    return paper_parameters(task, data.d, data.n_classes if task.loss == "cross_entropy" else 1)


def plan_run(
    suite: Suite,
    *,
    store_path: str | Path | None = None,
    workers: int = 1,
    memory_budget_bytes: int | None = None,
    tasks: Sequence[TaskSpec] | None = None,
    selection: Selection | None = None,
    require_devices: bool = True,
    reports_root: str | Path | None = "reports",
) -> RunPlan:
    """The plan of running ``tasks`` (default: those of ``suite`` that ``selection`` keeps,
    :meth:`Selection.tasks`; all without one) into the store at ``store_path``.

    Checks the inputs first (:func:`check_inputs`; ``require_devices=False`` plans for a device
    this machine lacks). Each task gets its memory estimate (rscbench.run.task_memory) and its
    time from the cost model of its device (:func:`cost_model_for`, calibrated on the reports
    under ``reports_root`` and the store; None, never guessed, without enough records). The budget
    is :func:`task_budget_bytes`, or None when a device is absent and no ``memory_budget_bytes``
    is given. Nothing runs and nothing is written, and no generated dataset is allocated (its
    sizes come from its spec), so a task too large for the machine is planned, never built.
    """
    if tasks is not None and selection:
        raise InvalidArgumentError("selection", str(selection), "none when tasks are given")
    if tasks is None:
        tasks = selection.tasks(suite) if selection else suite.tasks()
    chosen = list(tasks)
    check_inputs(chosen, require_devices=require_devices)
    devices = {task.device for task in chosen}
    present = "cuda" not in devices or torch.cuda.is_available()
    budget = (
        task_budget_bytes(chosen, workers=workers, memory_budget_bytes=memory_budget_bytes)
        if present or memory_budget_bytes is not None
        else None
    )
    store = None if store_path is None else Path(store_path)
    records = calibration_records(reports_root=reports_root, store_paths=[store] if store else [])
    models = {device: cost_model_for(device, records) for device in devices}
    experiments = suite.experiment_of()
    stored = _stored_ids(store)
    shapes: dict[DataSpec, DataShape] = {}
    plans = []
    for task in chosen:
        if task.data not in shapes:
            shapes[task.data] = task_data_shape(task)
        data = shapes[task.data]
        model = build_task_model(task, data) if task.model.is_factory else None
        cost = models[task.device]
        seconds = (
            None if cost is None else cost.seconds(task, n=data.n, parameters=_parameters(task, data, model))
        )
        memory = task_memory_estimate(task, data, model)
        plans.append(TaskPlan(task, experiments[task.task_id], memory, task.task_id in stored, seconds))
    return RunPlan(suite, tuple(plans), budget, models, selection)
