"""Run a list of tasks into a result store: skip stored ones, time and guard each, store each at once.

Every finished task is written to the store in its own transaction the moment it ends, by this
(driver) process only; workers compute and return records. A kill -9 therefore loses at most the
tasks in flight, and rerunning the same command resumes. Each task runs under a timeout; an
exception, a timeout or a diverged GD run is stored as that task's outcome with its message.
"""

from __future__ import annotations

import datetime
import functools
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, TextIO

import torch

from rscbench import __version__
from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.specs import MEASUREMENT_VERSION, TaskSpec
from rscbench.store import ResultStore, TaskRecord
from rscbench.tasks import measure_task

__all__ = [
    "EXECUTORS",
    "Progress",
    "RunSummary",
    "execute_task",
    "gpu_assignments",
    "pin_worker_to_gpu",
    "run_tasks",
    "worker_died_record",
]

EXECUTORS = ("local", "dask")


class TaskTimeoutError(Exception):
    """Raised inside a task when its time limit passes."""


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def _reset_peak_memory() -> int | None:
    """Reset the process's resident high-water mark (Linux); return the current resident bytes."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return _status_bytes("VmRSS")
    except OSError:
        return None


def _status_bytes(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _synchronize(device: str) -> None:
    """Wait for queued CUDA work, so a wall time read next covers the kernels, not their launch."""
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.synchronize()


def _device_name(device: str) -> str:
    if device == "cuda" and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return "cpu"


def _record(spec: TaskSpec, *, started_at: str, **outcome: Any) -> TaskRecord:
    """A task's record: its identity and provenance around the ``outcome`` fields, finished now."""
    return TaskRecord(
        task_id=spec.task_id,
        spec=spec.canonical(),
        started_at=started_at,
        finished_at=_utc_now(),
        rscbench_version=__version__,
        measurement_version=MEASUREMENT_VERSION,
        device=_device_name(spec.device),
        **outcome,
    )


def execute_task(
    canonical: dict[str, Any], timeout_seconds: float | None = None, *, memory_budget_bytes: int | None = None
) -> dict[str, Any]:
    """Run one task from its canonical spec and return its record as a dict (TaskRecord.to_dict()).

    Never raises for a task's own failure: an exception becomes status "failed" with its message,
    a task whose memory estimate exceeds ``memory_budget_bytes`` (default: the device's available
    memory) fails before allocating, with the estimate in its message;
    the timeout status "timeout" (enforced with SIGALRM where the task runs on a Unix main
    thread: in-process and pool workers; Dask worker threads run without it). The wall time is
    read after a CUDA synchronize on a GPU. Peak memory is the growth of the resident high-water
    mark over the resident size at the task's start (Linux; 0 when the task freed more than it
    took), or CUDA's peak allocation (torch.cuda.max_memory_allocated) on a GPU.
    """
    spec = TaskSpec.from_dict(canonical)
    started, started_at = time.perf_counter(), _utc_now()
    baseline = _reset_peak_memory()
    if spec.device == "cuda" and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    status, message, metrics, trajectory = "failed", "", {}, []
    alarm = (
        timeout_seconds is not None
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )
    previous = None
    if alarm:

        def expire(signum: int, frame: Any) -> None:
            raise TaskTimeoutError

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
    try:
        outcome = measure_task(spec, memory_budget_bytes=memory_budget_bytes)
        status, message, metrics, trajectory = (
            outcome.status,
            outcome.message,
            outcome.metrics,
            outcome.trajectory,
        )
    except TaskTimeoutError:
        status, message = "timeout", f"task exceeded its timeout of {timeout_seconds:g} s"
    except Exception as error:  # a task's failure is its recorded outcome, never the runner's crash
        where = traceback.extract_tb(error.__traceback__)[-1]
        message = f"{type(error).__name__}: {error} (at {os.path.basename(where.filename)}:{where.lineno})"
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    _synchronize(spec.device)
    wall_seconds = time.perf_counter() - started
    if spec.device == "cuda" and torch.cuda.is_available():
        peak = int(torch.cuda.max_memory_allocated())
    else:
        high = _status_bytes("VmHWM")
        peak = max(0, high - baseline) if high is not None and baseline is not None else None
    record = _record(
        spec,
        status=status,
        message=message,
        wall_seconds=wall_seconds,
        peak_memory_bytes=peak,
        metrics=metrics,
        trajectory=trajectory,
        started_at=started_at,
    )
    return record.to_dict()


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
        from rscbench.dask_executor import run_on_dask

        run_on_dask(canonicals, scheduler, run_one, finish)
    elif workers == 1:
        for canonical in canonicals:
            finish(run_one(canonical))
    else:
        gpus = torch.cuda.device_count() if any(task.device == "cuda" for task in pending) else 0
        _run_in_pool(canonicals, workers, run_one, finish, gpus=gpus)
    return RunSummary(len(tasks), len(tasks) - len(pending), statuses, time.perf_counter() - started)


def gpu_assignments(workers: int, gpus: int) -> list[int]:
    """The GPU index of each of ``workers`` pool workers: round robin over ``gpus`` devices."""
    require_integer("workers", workers, 1)
    require_integer("gpus", gpus, 1)
    return [worker % gpus for worker in range(workers)]


def pin_worker_to_gpu(assignments: Any) -> None:
    """Pool-worker initializer: take one GPU index from the ``assignments`` queue and make it the only
    visible device (CUDA_VISIBLE_DEVICES), before this process touches CUDA."""
    os.environ["CUDA_VISIBLE_DEVICES"] = str(assignments.get())


def _run_in_pool(
    canonicals: list[dict[str, Any]],
    workers: int,
    run_one: Callable[[dict[str, Any]], dict[str, Any]],
    finish: Callable[[dict[str, Any]], None],
    *,
    gpus: int = 0,
) -> None:
    """Run tasks in spawned worker processes; a task whose worker died is recorded as failed.

    With ``gpus`` > 0 each worker is pinned to one GPU (:func:`gpu_assignments`).
    """
    context = get_context("spawn")
    queue = list(canonicals)
    while queue:
        pinning: dict[str, Any] = {}
        if gpus > 0:
            assignments = context.Queue()
            for index in gpu_assignments(workers, gpus):
                assignments.put(index)
            pinning = {"initializer": pin_worker_to_gpu, "initargs": (assignments,)}
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, **pinning) as pool:
            running = {pool.submit(run_one, canonical): canonical for canonical in queue}
            queue = []
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    canonical = running.pop(future)
                    try:
                        finish(future.result())
                    except BrokenProcessPool:
                        queue.append(canonical)
                if queue:
                    lost = [running.pop(future) for future in list(running)]
                    queue.extend(lost)
                    break
        if queue:
            finish(worker_died_record(queue.pop(0)))


def worker_died_record(canonical: dict[str, Any]) -> dict[str, Any]:
    """The record of a task whose worker process died before it could report (status failed)."""
    spec = TaskSpec.from_dict(canonical)
    return _record(
        spec,
        status="failed",
        message="a worker process died while this task was in flight (killed or out of memory)",
        wall_seconds=0.0,
        peak_memory_bytes=None,
        metrics={},
        trajectory=[],
        started_at=_utc_now(),
    ).to_dict()
