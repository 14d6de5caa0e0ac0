"""The local process pool: spawned workers compute records, optionally one GPU each; the driver stores."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from rscbench.errors import require_integer
from rscbench.run.execute import worker_died_record

__all__ = ["gpu_assignments", "pin_worker_to_gpu", "run_in_pool"]


def gpu_assignments(workers: int, gpus: int) -> list[int]:
    """The GPU index of each of ``workers`` pool workers: round robin over ``gpus`` devices."""
    require_integer("workers", workers, 1)
    require_integer("gpus", gpus, 1)
    return [worker % gpus for worker in range(workers)]


def pin_worker_to_gpu(assignments: Any) -> None:
    """Pool-worker initializer: take one GPU index from the ``assignments`` queue and make it the only
    visible device (CUDA_VISIBLE_DEVICES), before this process touches CUDA."""
    os.environ["CUDA_VISIBLE_DEVICES"] = str(assignments.get())


def run_in_pool(
    canonicals: list[dict[str, Any]],
    workers: int,
    run_one: Callable[[dict[str, Any]], dict[str, Any]],
    finish: Callable[[dict[str, Any]], None],
    *,
    gpus: int = 0,
    start: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run tasks in spawned worker processes, ``workers`` at a time (``start`` is called as each is
    handed to a worker); a task whose worker died is recorded as failed.

    A dead worker breaks the pool: the first task that reported it is recorded as failed, the
    others in flight go back to the queue, and a new pool takes over. With ``gpus`` > 0 each
    worker is pinned to one GPU (:func:`gpu_assignments`).
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
        lost: list[dict[str, Any]] = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, **pinning) as pool:
            running: dict[Any, dict[str, Any]] = {}
            while (queue or running) and not lost:
                while queue and len(running) < workers:
                    canonical = queue.pop(0)
                    try:
                        running[pool.submit(run_one, canonical)] = canonical
                    except BrokenProcessPool:  # broke before a task in flight could say so
                        (queue if running else lost).insert(0, canonical)
                        break
                    if start is not None:
                        start(canonical)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    canonical = running.pop(future)
                    try:
                        record = future.result()
                    except BrokenProcessPool:
                        lost.append(canonical)
                        continue
                    finish(record)
            lost.extend(running.values())
        if lost:
            finish(worker_died_record(lost[0]))
            queue = lost[1:] + queue
