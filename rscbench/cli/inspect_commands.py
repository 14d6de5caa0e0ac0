"""`rscbench list`, `measure` and `replay`: what is available, one task measured, one stored task rerun."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from rscbench.analysis.metrics import METRICS
from rscbench.cli.codes import EXIT_OK, EXIT_STRICT, EXIT_TASK_FAILED
from rscbench.cli.run_command import RUNS_FOLDER
from rscbench.cli.views import plan_text
from rscbench.data import DATASETS
from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.measure.losses import LOSSES
from rscbench.models.activations import ACTIVATIONS
from rscbench.run.execute import execute_task
from rscbench.run.planning import STORE_NAME, plan_run
from rscbench.run.specs import TaskSpec, flat_fields, task_from_flat
from rscbench.run.suites import Experiment, Suite, load_suite, shipped_suites
from rscbench.run.threads import default_threads
from rscbench.store import ResultStore, TaskRecord

__all__ = ["list_command", "measure_command", "replay_command"]


def list_command(args: argparse.Namespace) -> int:
    """Print what `list` names (suites, a suite's tasks, datasets, activations, losses, metrics)."""
    if args.ids and args.what != "tasks":
        raise RscbenchError(f"invalid --ids with `list {args.what}`: allowed only with `list tasks SUITE`")
    if args.what == "suites":
        for name in shipped_suites():
            suite = load_suite(name)
            print(f"{name:<12} {len(suite.tasks()):>4} tasks  {suite.description}")
    elif args.what == "tasks":
        if not args.suite:
            raise RscbenchError("invalid `list tasks`: a suite is required, e.g. `rscbench list tasks smoke`")
        suite = load_suite(args.suite)
        if args.ids:
            print("\n".join(task.task_id for task in suite.tasks()))
            return EXIT_OK
        print(plan_text(plan_run(suite, require_devices=False)))
        return EXIT_OK
    elif args.what == "datasets":
        for spec in DATASETS.values():
            print(f"{spec.usage:<14} {spec.description}")
    elif args.what == "activations":
        for act in ACTIVATIONS.values():
            covered = "covered" if act.covered_by_theory else "control (not covered)"
            print(f"{act.name:<9} Lipschitz {act.lipschitz:.4g}  smoothness {act.smoothness:.4g}  {covered}")
    elif args.what == "losses":
        for loss in LOSSES.values():
            print(f"{loss.name:<14} targets: {loss.targets}")
    else:
        for info in METRICS.values():
            print(f"{info.name:<36} {info.unit:<14} better: {info.better:<7} {info.description}")
    return EXIT_OK


def _check_runs_here(spec: TaskSpec) -> None:
    """Refuse, before anything is allocated, a task that cannot run here: its inputs
    (rscbench.run.planning.check_inputs) or its estimated memory over what the device has free."""
    one = Suite("task", "one task", (Experiment("task", (spec,)),), "the command line")
    plan_run(one, reports_root=None).check_memory()


def measure_command(args: argparse.Namespace) -> int:
    """Measure one task given by flags and print its record as JSON on stdout."""
    values = {name: getattr(args, name) for name in flat_fields()}
    values["quantities"] = list(values["quantities"])
    spec = task_from_flat(values)
    _check_runs_here(spec)
    record = execute_task(spec.canonical(), args.timeout, threads=args.threads or default_threads())
    json.dump(record, sys.stdout, indent=2)  # TaskRecord.to_dict() is strict JSON already
    sys.stdout.write("\n")
    if record["status"] in ("failed", "timeout"):
        print(f"rscbench: task {record['status']}: {record['message']}", file=sys.stderr)
        return EXIT_TASK_FAILED
    return EXIT_OK


def _find_stored(task_id: str, store_option: str | None) -> TaskRecord:
    """The stored record of ``task_id`` from --store, or from the first runs/*/ or reports/*/ store
    holding it."""
    if store_option is not None:
        path = Path(store_option)
        candidates = [path / STORE_NAME if path.is_dir() else path]
        if not candidates[0].is_file():
            raise InvalidArgumentError("--store", store_option, "a run directory or its store.sqlite")
    else:
        candidates = [
            *sorted(RUNS_FOLDER.glob(f"*/{STORE_NAME}")),
            *sorted(Path("reports").glob(f"*/{STORE_NAME}")),
        ]
    for candidate in candidates:
        with ResultStore(candidate) as store:
            record = store.get(task_id)
        if record is not None:
            return record
    searched = ", ".join(str(c) for c in candidates) or "no store under runs/ or reports/"
    raise InvalidArgumentError("task_id", task_id, f"the id of a task stored in {searched}")


def _same(a: Any, b: Any) -> bool:
    """Equal values, counting two NaNs as equal (a replay reproduces a NaN, it does not differ from it)."""
    both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return both_nan or a == b


def replay_command(args: argparse.Namespace) -> int:
    """Rerun one stored task from its stored spec; print both and their differences (exit 1 if any).

    What keeps the task from running here at all (its spec no longer valid, no CUDA device, its npz
    file or factory module missing, a factory that is not reproducible) is bad input, exit 2 with
    the reason, before anything runs: only a task that ran can differ.
    """
    stored = _find_stored(args.task_id, args.store)
    try:
        spec = TaskSpec.from_dict(stored.spec)
        _check_runs_here(spec)
    except RscbenchError as error:
        raise RscbenchError(f"cannot replay task {args.task_id} here: {error}") from None
    replayed = TaskRecord.from_dict(execute_task(spec.canonical(), threads=default_threads()))
    differences = {
        name: {"stored": value, "replayed": replayed.metrics.get(name)}
        for name, value in stored.metrics.items()
        if not _same(value, replayed.metrics.get(name))
    }
    print(
        json.dumps(
            {"stored": stored.to_dict(), "replayed": replayed.to_dict(), "differences": differences}, indent=1
        )
    )
    return EXIT_STRICT if differences or replayed.status != stored.status else EXIT_OK
