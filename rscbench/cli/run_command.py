"""`rscbench run`: plan the suite (or print the plan with --dry-run), run what is missing into the run
directory's store, print the results and verdicts, and write the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from rscbench.analysis.verdicts import NOT_SUPPORTED, judge, verdict_table
from rscbench.cli.codes import EXIT_OK, EXIT_STRICT, EXIT_TASK_FAILED, EXPECTED_TO_HOLD
from rscbench.errors import RscbenchError
from rscbench.report import write_report
from rscbench.run.planning import STORE_NAME, RunPlan, plan_run
from rscbench.run.runner import run_tasks
from rscbench.run.suites import load_suite
from rscbench.store import ResultStore

__all__ = ["print_plan", "run_command"]


def run_command(args: argparse.Namespace) -> int:
    """Run ``args.suite`` (resumable) and return the exit code; with --dry-run print its plan only."""
    overrides = {key: getattr(args, key) for key in ("device", "dtype") if getattr(args, key)}
    suite = load_suite(args.suite, overrides)
    tasks = suite.tasks()
    out = Path(args.out or Path("reports") / suite.name)
    plan = plan_run(
        suite, store_path=out / STORE_NAME, workers=args.workers, memory_budget_bytes=args.memory_budget
    )
    if args.dry_run:
        print_plan(plan)
        return EXIT_OK
    if args.executor == "local":
        plan.check_memory()
    try:
        if args.fresh and out.exists():
            (out / STORE_NAME).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rscbench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise RscbenchError(
            f"invalid --out={str(out)!r}: not a writable directory ({error.strerror})"
        ) from None
    with ResultStore(out / STORE_NAME) as store:
        summary = run_tasks(
            tasks,
            store,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            timeout_seconds=args.timeout,
            memory_budget_bytes=args.memory_budget // args.workers if args.memory_budget else None,
        )
        frame = store.to_frame()
        trajectories = store.trajectory_frame()
    ids = {task.task_id for task in tasks}
    frame = frame[frame["task_id"].isin(ids)]
    experiments = suite.experiment_of()
    frame.insert(1, "experiment", frame["task_id"].map(experiments))
    _print_table(frame)
    report = None
    if len(frame) == len(tasks):
        with ResultStore(out / STORE_NAME) as store:
            report = write_report(out, suite, store)
    verdicts = report.verdicts if report else judge(frame, trajectories)
    if verdicts:
        with pd.option_context("display.width", 250, "display.max_colwidth", 160):
            print("\nverdicts (docs/verdicts.md):\n" + verdict_table(verdicts).to_string(index=False))
    counts = frame["status"].value_counts().to_dict()
    print(
        f"\n{suite.name}: {len(tasks)} tasks ({summary.skipped} already stored, "
        f"{len(tasks) - summary.skipped} run in {summary.wall_seconds:.1f} s); statuses {counts}\n"
        f"store: {out / STORE_NAME}"
    )
    if report:
        print(f"report: {report.folder}")
    failed = int(counts.get("failed", 0) + counts.get("timeout", 0))
    if failed:
        return EXIT_TASK_FAILED
    broken = [v for v in verdicts if v.id in EXPECTED_TO_HOLD and v.status == NOT_SUPPORTED]
    if args.strict and broken:
        names = ", ".join(f"{v.id} ({v.subject})" for v in broken)
        print(f"rscbench: --strict: verdicts not supported: {names}", file=sys.stderr)
        return EXIT_STRICT
    return EXIT_OK


def _print_table(frame: pd.DataFrame) -> None:
    spec_columns = [f"spec.model.{k}" for k in ("width", "depth", "activation", "sigma1")] + [
        "spec.loss",
        "spec.seed",
    ]
    metric_columns = [
        f"metric.{k}"
        for k in (
            "predictor_hessian_max",
            "g_bar_sqnorm",
            "loss_hessian_norm",
            "rsc_lower",
            "gd_steps_to_target",
        )
    ]
    columns = ["experiment", *spec_columns, "status", "wall_seconds"] + [
        c for c in metric_columns if c in frame
    ]
    view = frame[[c for c in columns if c in frame]].rename(columns=lambda c: c.split(".")[-1])
    with pd.option_context(
        "display.max_rows", None, "display.width", 200, "display.float_format", "{:.4g}".format
    ):
        print(view.to_string(index=False))


def print_plan(plan: RunPlan) -> None:
    """Print a plan: one line per task with its size and estimated peak memory, then the time
    estimate (from the stored peers of each task's experiment; unknown, not guessed, without one)
    and the memory budget."""
    suite = plan.suite
    print(f"{suite.name}: {len(plan.tasks)} tasks ({suite.source}), {plan.stored} already stored")
    for entry in plan.tasks:
        task, memory, model = entry.task, entry.memory, entry.task.model
        print(
            f"  {task.task_id}  {entry.experiment:<16} width={model.width:<6} depth={model.depth:<2} "
            f"{model.activation:<9} sigma1={model.sigma1:<4} loss={task.loss:<13} seed={task.seed} "
            f"gd_steps={task.protocol.gd_steps:<4} memory<={memory.total_bytes / 2**20:.0f} MiB "
            f"({memory.largest.name})" + ("  OVER BUDGET" if memory.total_bytes > plan.budget_bytes else "")
        )
    known = f"{plan.estimated_seconds:.0f} s for the tasks with measured peers"
    unknown = plan.unknown_time
    print(
        f"estimated time: {known}" + (f"; {unknown} tasks with no measured peer (unknown)" if unknown else "")
    )
    mib = 2**20
    print(
        f"estimated peak memory: {plan.peak_bytes / mib:.0f} MiB for the largest task; "
        f"budget {plan.budget_bytes / mib:.0f} MiB per task; {len(plan.over_budget)} tasks over it"
    )
