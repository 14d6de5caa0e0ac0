"""Execute one task in this process: time it, guard it with a timeout, measure its peak memory, and
turn whatever happens (a result, an exception, a timeout) into its record.

Every executor (in-process, the local pool, Dask) runs :func:`execute_task` and hands its record to
the driver, which alone writes the store.
"""

from __future__ import annotations

import datetime
import os
import signal
import threading
import time
import traceback
from typing import Any

import torch

from rscbench import __version__
from rscbench.run.specs import MEASUREMENT_VERSION, TaskSpec
from rscbench.run.task import measure_task
from rscbench.run.task_clock import TaskClock, synchronize
from rscbench.run.threads import apply_threads
from rscbench.store import TaskRecord
from rscbench.validation import MAX_SECONDS, require_number

__all__ = ["TaskTimeoutError", "execute_task", "worker_died_record"]


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
    canonical: dict[str, Any],
    timeout_seconds: float | None = None,
    *,
    memory_budget_bytes: int | None = None,
    threads: int | None = None,
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

    ``threads`` (default: leave torch's setting) sets torch's intra-op thread count for this
    process first; the record carries the count the task ran with, the wall seconds of each part
    (rscbench.run.task_clock: setup, each quantity, Q9) and every warning raised, named by part.
    """
    spec = TaskSpec.from_dict(canonical)
    if timeout_seconds is not None:
        require_number("timeout", timeout_seconds, greater_than=0, at_most=MAX_SECONDS)
    if threads is not None:
        apply_threads(threads)
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
    clock = TaskClock(spec.device)
    try:
        with clock:
            outcome = measure_task(spec, memory_budget_bytes=memory_budget_bytes, on_part=clock.mark)
        status, message, metrics, trajectory = (
            outcome.status,
            outcome.message,
            outcome.metrics,
            outcome.trajectory,
        )
    except TaskTimeoutError:
        status, message = "timeout", f"task exceeded its timeout of {timeout_seconds:g} s"
    except (Exception, SystemExit) as error:  # a task's failure is its outcome, never the runner's crash
        where = traceback.extract_tb(error.__traceback__)[-1]
        message = f"{type(error).__name__}: {error} (at {os.path.basename(where.filename)}:{where.lineno})"
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    synchronize(spec.device)
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
        quantity_seconds=clock.seconds,
        warnings=clock.warnings,
        threads=torch.get_num_threads(),
    )
    return record.to_dict()


def worker_died_record(
    canonical: dict[str, Any],
    how: str = "a worker process died while this task was in flight (killed or out of memory)",
    wall_seconds: float = 0.0,
) -> dict[str, Any]:
    """The record of a task whose worker process died before it could report (status failed):
    ``how`` it ended, and the ``wall_seconds`` the task had run (0 when unknown)."""
    spec = TaskSpec.from_dict(canonical)
    return _record(
        spec,
        status="failed",
        message=how,
        wall_seconds=wall_seconds,
        peak_memory_bytes=None,
        metrics={},
        trajectory=[],
        started_at=_utc_now(),
    ).to_dict()
