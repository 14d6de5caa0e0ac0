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
