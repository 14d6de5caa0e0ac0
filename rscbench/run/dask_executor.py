"""Run tasks on a Dask distributed cluster (the optional extra rscbench[dask]); the driver stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rscbench.errors import RscbenchError
from rscbench.run.execute import worker_died_record
from rscbench.run.specs import TaskSpec
from rscbench.run.threads import default_threads

__all__ = ["GPU_RESOURCE", "require_gpu_workers", "run_on_dask", "run_on_worker"]

GPU_RESOURCE = "GPU"
GPU_WORKER_RECIPE = (
    "start one worker per GPU, each pinned to its device: "
    "CUDA_VISIBLE_DEVICES=<i> dask worker <scheduler> --nthreads 1 --resources GPU=1"
)


def require_gpu_workers(workers: dict[str, dict[str, Any]]) -> int:
    """The number of workers declaring a ``GPU`` resource (scheduler_info()["workers"]); raises
    RscbenchError saying how to start them when there is none (CUDA tasks would wait forever)."""
    count = sum(1 for info in workers.values() if info.get("resources", {}).get(GPU_RESOURCE, 0) >= 1)
    if count == 0:
        raise RscbenchError(
            f"invalid --device=cuda with --executor dask: no worker declares a GPU; {GPU_WORKER_RECIPE}"
        )
    return count


def run_on_worker(
    run_one: Callable[..., dict[str, Any]], canonical: dict[str, Any], threads: int | None
) -> dict[str, Any]:
    """Run one task on a Dask worker with ``threads`` torch threads (default: the worker process's
    CPUs divided among the worker's threads, so its concurrent tasks do not oversubscribe it)."""
    if threads is None:
        from distributed import get_worker

        threads = default_threads(get_worker().state.nthreads)
    return run_one(canonical, threads=threads)


def run_on_dask(
    canonicals: list[dict[str, Any]],
    scheduler: str,
    run_one: Callable[..., dict[str, Any]],
    finish: Callable[[dict[str, Any]], None],
    *,
    start: Callable[[dict[str, Any]], None] | None = None,
    slots: Callable[[int], None] | None = None,
    threads: int | None = None,
) -> None:
    """Submit ``run_one`` (execute_task with its limits bound) of every task to the scheduler at
    ``scheduler``; hand each record to ``finish`` as it lands.

    Workers compute and return records; only this process writes. A CUDA task asks for one unit of
    the workers' ``GPU`` resource, so each GPU worker runs one task at a time. A task whose worker
    died is retried by Dask on another worker; one that keeps killing workers (Dask's KilledWorker)
    is recorded as failed. Each result is released once stored. ``run_one`` takes a ``threads``
    keyword: ``threads``, or the worker's default (:func:`run_on_worker`) when None.
    ``start`` is called as each task is submitted and ``slots`` with the cluster's total worker
    threads (how many tasks run at once), for the progress line.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise RscbenchError(
            "--executor dask needs the optional extra: pip install 'rscbench[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout=30)
    except (OSError, ValueError, TypeError) as error:  # no answer, or not an address at all
        raise RscbenchError(
            f"invalid --scheduler={scheduler!r}: allowed the address of a running Dask scheduler, "
            f"e.g. tcp://host:8786 ({type(error).__name__}: {error})"
        ) from None
    specs = [TaskSpec.from_dict(canonical) for canonical in canonicals]
    with client:
        workers = client.scheduler_info()["workers"]
        if any(spec.device == "cuda" for spec in specs):
            require_gpu_workers(workers)
        if slots is not None:
            slots(max(1, sum(info.get("nthreads", 1) for info in workers.values())))
        futures = {
            client.submit(
                run_on_worker,
                run_one,
                canonical,
                threads,
                pure=False,
                key=f"rscbench-{spec.task_id}",
                resources={GPU_RESOURCE: 1} if spec.device == "cuda" else None,
            ): canonical
            for canonical, spec in zip(canonicals, specs, strict=True)
        }
        if start is not None:
            for canonical in canonicals:
                start(canonical)
        for future in as_completed(futures):
            try:
                record = future.result()
            except Exception:  # the worker was lost for good: the task is recorded, the run goes on
                record = worker_died_record(futures[future])
            finish(record)
            future.release()
