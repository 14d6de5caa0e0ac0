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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import torch

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.run.execute import execute_task
from rscbench.run.pool import run_in_pool
from rscbench.run.specs import TaskSpec
from rscbench.store import ResultStore

__all__ = ["EXECUTORS", "Progress", "RunSummary", "run_tasks"]

EXECUTORS = ("local", "dask")


@dataclass
class Progress:
    """A one-line progress report on ``stream``: tasks done of total, failures, elapsed and ETA."""

    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)

    def update(self, record: dict[str, Any]) -> None:
        """Count one finished task and redraw the line."""
        self.done += 1
        self.failed += record["status"] in ("failed", "timeout")
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        width = 24
        filled = width * self.done // max(self.total, 1)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} done, {self.failed} failed, "
            f"{_clock(elapsed)} elapsed, ETA {_clock(eta)}"
        )
        end = "\r" if self.stream.isatty() and self.done < self.total else "\n"
        self.stream.write(line + end)
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s"


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


def run_tasks(
    tasks: Iterable[TaskSpec],
    store: ResultStore,
    *,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    timeout_seconds: float | None = None,
    memory_budget_bytes: int | None = None,
    progress_stream: TextIO | None = None,
) -> RunSummary:
    """Run every task not yet in ``store`` and store each record the moment it finishes.

    ``executor`` "local" runs in this process when ``workers`` == 1 and in a pool of ``workers``
    spawned processes otherwise (on CUDA each worker is pinned to one GPU, round robin); "dask"
    submits to the Dask scheduler at ``scheduler`` (the optional extra rscbench[dask]; CUDA tasks
    go only to workers that declare a ``GPU`` resource, one task per GPU). Only this process
    writes the store.
    """
    if executor not in EXECUTORS:
        raise InvalidArgumentError("executor", executor, "one of " + ", ".join(EXECUTORS))
    require_integer("workers", workers, 1)
    if timeout_seconds is not None and not timeout_seconds > 0:
        raise InvalidArgumentError("timeout", timeout_seconds, "a number of seconds > 0")
    if executor == "dask" and not scheduler:
        raise InvalidArgumentError("scheduler", scheduler, "a Dask scheduler address with --executor dask")
    started = time.perf_counter()
    tasks = list(tasks)
    stored = store.task_ids()
    pending = [task for task in tasks if task.task_id not in stored]
    progress = Progress(len(pending), progress_stream or sys.stderr)
    statuses: dict[str, int] = {}

    def finish(record: dict[str, Any]) -> None:
        store.put(record)
        statuses[record["status"]] = statuses.get(record["status"], 0) + 1
        progress.update(record)

    canonicals = [task.canonical() for task in pending]
    run_one = functools.partial(
        execute_task, timeout_seconds=timeout_seconds, memory_budget_bytes=memory_budget_bytes
    )
    if executor == "dask":
        from rscbench.run.dask_executor import run_on_dask

        run_on_dask(canonicals, scheduler, run_one, finish)
    elif workers == 1:
        for canonical in canonicals:
            finish(run_one(canonical))
    else:
        gpus = torch.cuda.device_count() if any(task.device == "cuda" for task in pending) else 0
        run_in_pool(canonicals, workers, run_one, finish, gpus=gpus)
    return RunSummary(len(tasks), len(tasks) - len(pending), statuses, time.perf_counter() - started)
