"""`rscbench run-task`, `ingest` and `merge`: one task of a suite into a record file (what a cluster
array job calls), record files into a store, and stores of several machines into one, by task id and
without duplicates (rscbench.store: write_record_file, ResultStore.ingest, ResultStore.merge)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rscbench.cli.codes import EXIT_OK, EXIT_TASK_FAILED
from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.run.execute import execute_task
from rscbench.run.planning import STORE_NAME, plan_run
from rscbench.run.suites import load_suite
from rscbench.run.threads import default_threads
from rscbench.store import ResultStore, read_record_file, write_record_file

__all__ = ["ingest_command", "merge_command", "run_task_command"]


def _directory(text: str, flag: str) -> Path:
    """The folder ``text``, created if needed; RscbenchError naming ``flag`` unless it is writable."""
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RscbenchError(f"invalid {flag}={text!r}: not a writable directory ({error.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise RscbenchError(f"invalid {flag}={text!r}: not a writable directory (permission denied)")
    return path


def _store_path(text: str, flag: str, *, existing: bool) -> Path:
    """The store file ``text`` names: a ``.sqlite`` file, or a run directory's store.sqlite.
    ``existing``: it must be there already; otherwise its folder is created, writable."""
    path = Path(text)
    store = path if path.suffix == ".sqlite" or path.is_file() else path / STORE_NAME
    if existing and not store.is_file():
        raise InvalidArgumentError(
            flag, text, f"a run directory holding {STORE_NAME}, or a .sqlite store file"
        )
    return store if existing else _directory(str(store.parent), flag) / store.name


def run_task_command(args: argparse.Namespace) -> int:
    """Run task ``args.task_id`` of ``args.suite`` and write its record to ``--record-dir``.

    A task whose record file is there already is not run again (an array job resubmitted resumes);
    delete the file to rerun it. Exit 3 when the task failed or timed out (its record is written).
    """
    suite = load_suite(args.suite)
    by_id = {task.task_id: task for task in suite.tasks()}
    if args.task_id not in by_id:
        raise InvalidArgumentError(
            "TASK_ID",
            args.task_id,
            f"the id of a task of {suite.name} (`rscbench list tasks {args.suite} --ids`)",
        )
    folder = _directory(args.record_dir, "--record-dir")
    existing = folder / f"{args.task_id}.json"
    if existing.is_file():
        record = read_record_file(existing)
        print(
            f"{args.task_id}: already recorded ({record.status}) in {existing}; delete the file to rerun it"
        )
        return EXIT_OK
    plan = plan_run(suite, tasks=[by_id[args.task_id]], reports_root=None)
    plan.check_memory()
    record = execute_task(
        by_id[args.task_id].canonical(),
        args.timeout,
        memory_budget_bytes=plan.budget_bytes,
        threads=args.threads or default_threads(),
    )
    record["experiment"] = suite.experiment_of()[args.task_id]
    path = write_record_file(record, folder)
    print(f"{args.task_id}: {record['status']} in {record['wall_seconds']:.1f} s -> {path}")
    if record["status"] in ("failed", "timeout"):
        print(f"rscbench: task {record['status']}: {record['message']}", file=sys.stderr)
        return EXIT_TASK_FAILED
    return EXIT_OK


def ingest_command(args: argparse.Namespace) -> int:
    """Read the record files of each ``args.folders`` into ``--store``; a file read twice adds nothing."""
    for text in args.folders:
        folder = Path(text)
        if not folder.is_dir() or not any(folder.glob("*.json")):
            raise InvalidArgumentError(
                "DIR", text, "a folder holding record files <task_id>.json (written by `rscbench run-task`)"
            )
    path = _store_path(args.store, "--store", existing=False)
    with ResultStore(path) as store:
        changed = store.ingest(args.folders)
        total = len(store)
    print(f"{changed} tasks added or replaced; {path} holds {total} tasks")
    return EXIT_OK


def merge_command(args: argparse.Namespace) -> int:
    """Merge each store of ``args.stores`` into ``--into`` by task id; merging twice adds nothing."""
    sources = [_store_path(text, "STORE", existing=True) for text in args.stores]
    into = Path(args.into)
    for text, source in zip(args.stores, sources, strict=True):
        if source.resolve() in (into.resolve(), (into / STORE_NAME).resolve()):
            raise InvalidArgumentError("STORE", text, "a store other than --into")
    opened: list[ResultStore] = []
    try:
        for source in sources:  # each checked to be a store before anything is written
            opened.append(ResultStore(source))
        with ResultStore(_store_path(args.into, "--into", existing=False)) as store:
            for source in opened:
                print(f"{source.path}: {store.merge(source)} tasks added or replaced")
            total, target = len(store), store.path
    finally:
        for source in opened:
            source.close()
    print(f"{target} holds {total} tasks")
    return EXIT_OK
