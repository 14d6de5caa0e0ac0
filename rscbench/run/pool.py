"""The local process pool: spawned workers compute records, optionally one GPU each; the driver stores.

Each worker is a spawned process with a pipe of its own, so the driver always knows which task
each worker runs. A worker that dies (killed, out of memory) has its own task recorded as failed,
with how it ended and how long the task had run, and is replaced; the tasks on the other workers
run on undisturbed. Workers end with their driver, however it ends: an idle worker reads the end of
its pipe, a busy one notices within WATCH_SECONDS that its parent is gone, and both exit. Workers
ignore Ctrl-C; the driver, which gets it, stops them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from rscbench.errors import require_integer
from rscbench.run.execute import worker_died_record

__all__ = ["WATCH_SECONDS", "gpu_assignments", "pin_to_gpu", "run_in_pool"]

WATCH_SECONDS = 0.5
"""How often a busy worker checks that its driver is still alive (seconds)."""
_STOP_SECONDS = 5.0
"""How long the driver waits for a worker to end before killing it (seconds)."""


def gpu_assignments(workers: int, gpus: int) -> list[int]:
    """The GPU index of each of ``workers`` pool workers: round robin over ``gpus`` devices."""
    require_integer("workers", workers, 1)
    require_integer("gpus", gpus, 1)
    return [worker % gpus for worker in range(workers)]


def pin_to_gpu(index: int) -> None:
    """Make GPU ``index`` the only device this process sees (CUDA_VISIBLE_DEVICES), before it touches
    CUDA."""
    os.environ["CUDA_VISIBLE_DEVICES"] = str(index)


def _watch_parent(parent: int) -> None:
    """End this process once its parent (the driver) is gone: it is then adopted by another."""
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def _worker_main(
    connection: Connection, run_one: Callable[[dict[str, Any]], dict[str, Any]], gpu: int | None, parent: int
) -> None:
    """A worker's life: take tasks from the pipe, send back their records, until the pipe ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if gpu is not None:
        pin_to_gpu(gpu)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    while True:
        try:
            canonical = connection.recv()
        except (EOFError, OSError):
            return
        if canonical is None:
            return
        record = run_one(canonical)
        try:
            connection.send(record)
        except OSError:
            return


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection
    gpu: int | None
    task: dict[str, Any] | None = None
    started: float = 0.0


def _spawn(context: Any, run_one: Callable[..., dict[str, Any]], gpu: int | None) -> _Worker:
    mine, theirs = context.Pipe()
    process = context.Process(target=_worker_main, args=(theirs, run_one, gpu, os.getpid()), daemon=True)
    process.start()
    theirs.close()
    return _Worker(process, mine, gpu)


def _ended(process: BaseProcess) -> str:
    process.join(_STOP_SECONDS)
    code = process.exitcode
    if code is None:
        return "stopped answering"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return f"was killed by signal {name} (by hand, or by the kernel when out of memory)"
    return f"exited with code {code}"


def _stop(workers: list[_Worker]) -> None:
    for worker in workers:
        with contextlib.suppress(OSError):
            worker.connection.send(None)
    deadline = time.monotonic() + _STOP_SECONDS
    for worker in workers:
        if worker.task is not None:  # busy: an interrupted run does not wait for its tasks
            worker.process.terminate()
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()


def run_in_pool(
    canonicals: list[dict[str, Any]],
    workers: int,
    run_one: Callable[[dict[str, Any]], dict[str, Any]],
    finish: Callable[[dict[str, Any]], None],
    *,
    gpus: int = 0,
    start: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run tasks in ``workers`` spawned worker processes (``run_one`` must pickle), handing each
    record to ``finish`` as it lands; ``start`` is called as each task is handed to a worker.

    A worker that dies has its task recorded as failed (rscbench.run.execute.worker_died_record,
    naming its pid, how it ended and the seconds the task ran) and a new worker takes its place.
    With ``gpus`` > 0 each worker is pinned to one GPU (:func:`gpu_assignments`). Every worker is
    stopped before this returns or raises.
    """
    require_integer("workers", workers, 1)
    context = get_context("spawn")
    queue = list(canonicals)
    slots = gpu_assignments(workers, gpus) if gpus > 0 else [None] * workers
    pool = [_spawn(context, run_one, gpu) for gpu in slots[: min(workers, len(queue))]]

    def hand(worker: _Worker) -> _Worker:
        """Give ``worker`` the next task; a worker found dead is replaced (the task stays queued)."""
        while queue:
            canonical = queue.pop(0)
            try:
                worker.connection.send(canonical)
            except OSError:
                queue.insert(0, canonical)
                _ended(worker.process)
                worker.connection.close()
                worker = _spawn(context, run_one, worker.gpu)
                continue
            worker.task, worker.started = canonical, time.monotonic()
            if start is not None:
                start(canonical)
            break
        return worker

    try:
        pool = [hand(worker) for worker in pool]
        while any(worker.task is not None for worker in pool):
            busy = [worker for worker in pool if worker.task is not None]
            ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy]))
            for index, worker in enumerate(pool):
                if worker.task is None or not ({worker.connection, worker.process.sentinel} & ready):
                    continue
                try:
                    record = worker.connection.recv() if worker.connection.poll() else None
                except (EOFError, OSError):
                    record = None
                canonical, worker.task = worker.task, None
                if record is None:  # the worker died with its task: record it, replace the worker
                    how = f"the worker process (pid {worker.process.pid}) {_ended(worker.process)}"
                    finish(worker_died_record(canonical, how, time.monotonic() - worker.started))
                    worker.connection.close()
                    if not queue:
                        continue
                    worker = _spawn(context, run_one, worker.gpu)
                else:
                    finish(record)
                pool[index] = hand(worker)
    finally:
        _stop(pool)
