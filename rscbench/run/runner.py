"""Run a list of tasks into a result store: skip stored ones, time and guard each, store each at once.

Every finished task is written to the store in its own transaction the moment it ends, by this
(driver) process only; workers compute and return records. A kill -9 therefore loses at most the
tasks in flight, and rerunning the same command resumes. Each task runs under a timeout; an
exception, a timeout or a diverged GD run is stored as that task's outcome with its message.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import torch

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.run.execute import execute_task
from rscbench.run.pool import run_in_pool
from rscbench.run.progress import Progress
from rscbench.run.specs import TaskSpec
from rscbench.run.threads import default_threads
from rscbench.store import ResultStore, store_lock
from rscbench.validation import MAX_SECONDS, require_number

__all__ = ["EXECUTORS", "RETRIED", "RunSummary", "check_executor", "run_tasks"]

EXECUTORS = ("local", "dask")
RETRIED = ("failed", "timeout")
"""The stored statuses ``retry_failed`` runs again."""


@dataclass(frozen=True)
class RunSummary:
    """Counts of one run: tasks in the suite, skipped as already stored, and each outcome."""

    total: int
    skipped: int
    statuses: dict[str, int]
    wall_seconds: float

    @property
    def failures(self) -> int:
        """Tasks that raised or timed out in this run."""
        return self.statuses.get("failed", 0) + self.statuses.get("timeout", 0)


def check_executor(executor: str, scheduler: str | None) -> None:
    """Refuse an unknown executor, Dask without a scheduler address, and an address without Dask."""
    if executor not in EXECUTORS:
        raise InvalidArgumentError("executor", executor, "one of " + ", ".join(EXECUTORS))
    if executor == "dask" and not scheduler:
        raise InvalidArgumentError("scheduler", scheduler, "a Dask scheduler address with --executor dask")
    if executor != "dask" and scheduler:
        raise InvalidArgumentError(
            "scheduler", scheduler, "only with --executor dask (it names a Dask cluster)"
        )


def run_tasks(
    tasks: Iterable[TaskSpec],
    store: ResultStore,
    *,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    timeout_seconds: float | None = None,
    memory_budget_bytes: int | None = None,
    threads: int | None = None,
    experiments: Mapping[str, str] | None = None,
    estimates: Mapping[str, float] | None = None,
    labels: Mapping[str, str] | None = None,
    progress_stream: TextIO | None = None,
    retry_failed: bool = False,
) -> RunSummary:
    """Run every task not yet in ``store`` and store each record the moment it finishes.

    With ``retry_failed`` the tasks stored as failed or timed out run again too (their new records
    replace the old ones); every other stored task is skipped. The run holds the store's writer lock
    (rscbench.store.store_lock) throughout: a second run of the same store raises StoreBusyError
    before it runs anything.

    ``executor`` "local" runs in this process when ``workers`` == 1 and in a pool of ``workers``
    spawned processes otherwise (on CUDA each worker is pinned to one GPU, round robin); "dask"
    submits to the Dask scheduler at ``scheduler`` (the optional extra rscbench[dask]; CUDA tasks
    go only to workers that declare a ``GPU`` resource, one task per GPU). Only this process
    writes the store.

    ``threads`` is torch's thread count in each process that runs tasks (default: the CPUs this
    process may use divided among ``workers``, rscbench.run.threads; on Dask, each worker's CPUs
    divided among its threads). ``experiments`` (task id -> experiment name) is stored in each
    record; ``estimates`` (task id -> seconds) and ``labels`` (task id -> what to call it) feed the
    progress line (rscbench.run.progress). In this process the thread count is restored afterwards.
    """
    check_executor(executor, scheduler)
    require_integer("workers", workers, 1)
    if timeout_seconds is not None:
        require_number("timeout", timeout_seconds, greater_than=0, at_most=MAX_SECONDS)
    if threads is not None:
        require_integer("threads", threads, 1)
    elif executor == "local":
        threads = default_threads(workers)
    with store_lock(store.path):
        return _run_locked(
            list(tasks),
            store,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            run_one=functools.partial(
                execute_task, timeout_seconds=timeout_seconds, memory_budget_bytes=memory_budget_bytes
            ),
            threads=threads,
            experiments=experiments,
            progress_of=functools.partial(
                Progress,
                stream=progress_stream or sys.stderr,
                estimates=estimates or {},
                labels=labels or {},
                workers=workers,
            ),
            retry_failed=retry_failed,
        )


def _run_locked(
    tasks: list[TaskSpec],
    store: ResultStore,
    *,
    executor: str,
    workers: int,
    scheduler: str | None,
    run_one: Callable[..., dict[str, Any]],
    threads: int | None,
    experiments: Mapping[str, str] | None,
    progress_of: Callable[[list[str]], Progress],
    retry_failed: bool,
) -> RunSummary:
    """:func:`run_tasks` once its arguments are checked, holding the store's lock."""
    started = time.perf_counter()
    skipped = store.task_ids() - (store.task_ids(RETRIED) if retry_failed else set())
    pending = [task for task in tasks if task.task_id not in skipped]
    progress = progress_of([task.task_id for task in pending])
    statuses: dict[str, int] = {}

    canonicals = [task.canonical() for task in pending]
    ids = {id(canonical): task.task_id for canonical, task in zip(canonicals, pending, strict=True)}

    def start(canonical: dict[str, Any]) -> None:
        progress.start(ids[id(canonical)])

    def finish(record: dict[str, Any]) -> None:
        if experiments is not None and record.get("experiment") is None:
            record = record | {"experiment": experiments.get(record["task_id"])}
        store.put(record)
        statuses[record["status"]] = statuses.get(record["status"], 0) + 1
        progress.update(record)

    if executor == "dask":
        from rscbench.run.dask_executor import run_on_dask

        def slots(count: int) -> None:
            progress.workers = count

        run_on_dask(canonicals, scheduler, run_one, finish, start=start, slots=slots, threads=threads)
    elif workers == 1:
        previous = torch.get_num_threads()
        try:
            for canonical in canonicals:
                start(canonical)
                finish(run_one(canonical, threads=threads))
        finally:  # the caller's own torch setting comes back
            torch.set_num_threads(previous)
    else:
        gpus = torch.cuda.device_count() if any(task.device == "cuda" for task in pending) else 0
        pooled = functools.partial(run_one, threads=threads)
        run_in_pool(canonicals, workers, pooled, finish, gpus=gpus, start=start)
    return RunSummary(len(tasks), len(tasks) - len(pending), statuses, time.perf_counter() - started)
