"""`rscbench run`: plan the suite (or print the plan with --dry-run), run what is missing into the run
directory's store, print the results and verdicts, write the report and name the file to open."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rscbench.analysis.verdicts import NOT_SUPPORTED, judge
from rscbench.cli.codes import EXIT_OK, EXIT_STRICT, EXIT_TASK_FAILED, EXPECTED_TO_HOLD
from rscbench.cli.views import plan_text, results_text, verdict_lines, warning_lines
from rscbench.report import Report, write_report
from rscbench.run.planning import STORE_NAME, plan_run
from rscbench.run.runner import RunSummary, check_executor, run_tasks
from rscbench.run.specs import TaskSpec
from rscbench.run.suites import Suite, load_suite, parse_selection, task_labels
from rscbench.run.threads import default_threads
from rscbench.store import ResultStore, remove_store, store_lock
from rscbench.validation import writable_folder

__all__ = ["RUNS_FOLDER", "run_command"]

RUNS_FOLDER = Path("runs")
"""Where user runs go by default (git-ignored): ``runs/<suite>/``."""


def run_command(args: argparse.Namespace) -> int:
    """Run ``args.suite`` (resumable) and return the exit code; with --dry-run print its plan only."""
    check_executor(args.executor, args.scheduler)
    overrides = {key: getattr(args, key) for key in ("device", "dtype") if getattr(args, key)}
    suite = load_suite(args.suite, overrides)
    out = Path(args.out) if args.out else RUNS_FOLDER / suite.name
    plan = plan_run(
        suite,
        store_path=out / STORE_NAME,
        workers=args.workers,
        memory_budget_bytes=args.memory_budget,
        selection=parse_selection(args.select, args.experiment),
        require_devices=not args.dry_run,
    )
    tasks = [entry.task for entry in plan.tasks]
    if args.dry_run:
        print(plan_text(plan, args.workers))
        return EXIT_OK
    if args.executor == "local":
        plan.check_memory()
    writable_folder("--out", out)
    threads = args.threads or (default_threads(args.workers) if args.executor == "local" else None)
    labels = task_labels(suite.groups(), suite.axes())
    estimates = {p.task.task_id: p.estimated_seconds for p in plan.tasks if p.estimated_seconds is not None}
    with store_lock(out / STORE_NAME):  # held from --fresh to the report: one run of a store at a time
        if args.fresh:
            remove_store(out / STORE_NAME)
        with ResultStore(out / STORE_NAME) as store:
            summary = run_tasks(
                tasks,
                store,
                executor=args.executor,
                workers=args.workers,
                scheduler=args.scheduler,
                timeout_seconds=args.timeout,
                memory_budget_bytes=args.memory_budget // args.workers if args.memory_budget else None,
                threads=threads,
                experiments=suite.experiment_of(),
                estimates=estimates,
                labels=labels,
                retry_failed=args.retry_failed,
            )
            frame = store.to_frame()
            trajectories = store.trajectory_frame()
            stored = len({task.task_id for task in suite.tasks()} & set(frame["task_id"]))
            # the report is of the whole suite, once every task is stored
            report = write_report(out, suite, store) if stored == len(suite.tasks()) else None
    ids = {task.task_id for task in tasks}
    frame = frame[frame["task_id"].isin(ids)].reset_index(drop=True)
    run = _Run(suite, tasks, out, summary, stored, threads, labels)
    return _summary(args, run, frame, trajectories, report)


@dataclass(frozen=True)
class _Run:
    """What the summary of a run reports: the suite, the tasks run (a selection, or all), where."""

    suite: Suite
    tasks: list[TaskSpec]
    out: Path
    summary: RunSummary
    stored: int
    threads: int | None
    labels: dict[str, str]


def _summary(
    args: argparse.Namespace,
    run: _Run,
    frame: pd.DataFrame,
    trajectories: pd.DataFrame,
    report: Report | None,
) -> int:
    """Print the results, verdicts, warnings and the summary of a run; return its exit code."""
    suite, tasks, out, threads = run.suite, run.tasks, run.out, run.threads
    print(results_text(frame, suite))
    verdicts = report.verdicts if report else judge(frame, trajectories)
    if verdicts:
        where = f"{report.folder / 'report.md'}" if report else "the report, once every task is stored"
        print(f"\nverdicts (docs/verdicts.md; the full table with each claim: {where}):")
        print("\n".join(verdict_lines(verdicts)))
    warned = warning_lines(frame, run.labels)
    if warned:
        print(f"\nwarnings recorded with their tasks ({len(warned)}; also in each record's warnings):")
        print("\n".join(warned))
    counts = frame["status"].value_counts().to_dict()
    threads_text = f"{threads} torch threads per task" if threads else "torch threads set by each Dask worker"
    print(
        f"\n{suite.name}: {len(tasks)} tasks ({run.summary.skipped} already stored, "
        f"{len(tasks) - run.summary.skipped} run in {run.summary.wall_seconds:.1f} s, {threads_text}); "
        f"statuses {counts}\nstore: {out / STORE_NAME}"
    )
    print(
        f"open: {report.folder / 'report.html'}"
        if report
        else (
            f"no report yet: {run.stored} of the suite's {len(suite.tasks())} tasks stored; "
            f"rerun to finish ({out})"
        )
    )
    failed = int(counts.get("failed", 0) + counts.get("timeout", 0))
    if failed:
        return EXIT_TASK_FAILED
    broken = [v for v in verdicts if v.id in EXPECTED_TO_HOLD and v.status == NOT_SUPPORTED]
    if args.strict and broken:
        names = ", ".join(f"{v.id} ({v.subject})" for v in broken)
        print(f"rscbench: --strict: verdicts not supported: {names}", file=sys.stderr)
        return EXIT_STRICT
    return EXIT_OK
