"""Run tasks on a Dask distributed cluster (the optional extra rscbench[dask]); the driver stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rscbench.errors import RscbenchError
from rscbench.runner import execute_task, worker_died_record
from rscbench.specs import TaskSpec

__all__ = ["run_on_dask"]


def run_on_dask(
    canonicals: list[dict[str, Any]],
    scheduler: str,
    timeout_seconds: float | None,
    finish: Callable[[dict[str, Any]], None],
) -> None:
    """Submit every task to the scheduler at ``scheduler``; hand each record to ``finish`` as it lands.

    Workers compute and return records; only this process writes. A task whose worker died is
    retried by Dask on another worker; one that keeps killing workers (Dask's KilledWorker) is
    recorded as failed. Each result is released once stored.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise RscbenchError(
            "--executor dask needs the optional extra: pip install 'rscbench[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout=30)
    except OSError as error:
        raise RscbenchError(
            f"invalid --scheduler={scheduler!r}: no Dask scheduler answered ({error})"
        ) from None
    with client:
        futures = {
            client.submit(
                execute_task,
                canonical,
                timeout_seconds,
                pure=False,
                key=f"rscbench-{TaskSpec.from_dict(canonical).task_id}",
            ): canonical
            for canonical in canonicals
        }
        for future in as_completed(futures):
            try:
                record = future.result()
            except Exception:  # the worker was lost for good: the task is recorded, the run goes on
                record = worker_died_record(futures[future])
            finish(record)
            future.release()
