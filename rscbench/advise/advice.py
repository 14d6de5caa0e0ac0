"""`advise`: run (or reuse from a store) the smallest width sweep that answers where the init
certificate starts to hold for one model family, and say what it found (docs/science.md, "Where the
regime starts").

The sweep runs ordinary init-only tasks (rscbench.advise.query) through the run layer's runner into a
result store, so a second question, or a suite run into the same store, reuses every stored task by
its id. Widths double from ``min_width``: those <= 1024 always run (they give the extrapolated m*);
larger ones run one at a time, each only when its three tasks fit the memory this machine has free
(rscbench.run.task_memory) and the sweep's compute time (the stored tasks' measured seconds plus the
estimate of the new ones by the cost model, rscbench.run.cost_model, calibrated on the store: the
family's own measured tasks) stays within the budget; the sweep
stops early once a crossing is observed and confirmed at one more width. Deciding from the stored
times and the cost model, not from the wall clock, makes a repeated question take the same widths.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from rscbench.advise.constants import InfiniteWidth, infinite_width_constants
from rscbench.advise.findings import (
    SweepAnswer,
    WidthFinding,
    crossing_confirmed,
    sweep_answer,
    width_findings,
)
from rscbench.advise.query import AdviceQuery
from rscbench.analysis.references import with_references
from rscbench.run.planning import STORE_NAME, RunPlan, plan_run
from rscbench.run.runner import run_tasks
from rscbench.run.specs import TaskSpec
from rscbench.run.suites import Experiment, Suite
from rscbench.store import ResultStore
from rscbench.validation import writable_folder

__all__ = ["DEFAULT_STORE", "Advice", "advise"]

DEFAULT_STORE = Path("runs") / "advise"
"""The run directory advise stores its tasks in by default (git-ignored ``runs/``)."""
EXPERIMENT = "advise"


@dataclass(frozen=True)
class Advice:
    """What `advise` answers for one model family (``query``).

    ``answer`` holds m* (neurons) with its CI, the observed crossing, whether the answer was observed
    or extrapolated, how far beyond the largest measured width m* lies, and the regime in words;
    ``widths`` one WidthFinding per measured width. ``theorem_threshold`` is the width threshold
    Theorem 5.1's alpha_t implies with the measured constants (Q8; median over seeds at the largest
    width, neurons) and ``c_H`` = sqrt(m) max-probe ||Hessian of f|| there (dimensionless);
    ``infinite_width`` the m -> infinity constants. ``stopped`` says why the sweep took no larger
    width; ``tasks_run`` and ``tasks_reused`` count this call's tasks (run now, found stored),
    ``failed`` those of the sweep that raised or timed out, ``sweep_seconds`` the measured compute
    time of the sweep's tasks and ``wall_seconds`` this call's; ``store`` the store's path.
    """

    query: AdviceQuery
    answer: SweepAnswer
    widths: tuple[WidthFinding, ...]
    theorem_threshold: float
    c_H: float
    infinite_width: InfiniteWidth
    stopped: str
    tasks_run: int
    tasks_reused: int
    failed: int
    sweep_seconds: float
    wall_seconds: float
    store: str

    def to_dict(self) -> dict[str, Any]:
        """The advice as plain data (nested dicts and lists; floats may be non-finite)."""
        return asdict(self)


@dataclass
class _Sweep:
    """The sweep as it runs: its store, the tasks so far and this call's counts."""

    query: AdviceQuery
    store: ResultStore
    store_path: Path
    reports_root: str | Path | None
    progress_stream: TextIO | None
    threads: int | None
    tasks: list[TaskSpec]
    run: int = 0
    reused: int = 0

    def plan(self, tasks: Sequence[TaskSpec]) -> RunPlan:
        """The run layer's plan of ``tasks`` (memory estimates, time estimates, what is stored)."""
        suite = Suite(
            EXPERIMENT, "rscbench advise", (Experiment(EXPERIMENT, tuple(tasks)),), "rscbench advise"
        )
        return plan_run(suite, store_path=self.store_path, tasks=tasks, reports_root=self.reports_root)

    def execute(self, tasks: Sequence[TaskSpec]) -> None:
        """Run the tasks the store lacks and count them."""
        summary = run_tasks(
            tasks,
            self.store,
            experiments={task.task_id: EXPERIMENT for task in tasks},
            threads=self.threads,
            progress_stream=self.progress_stream,
        )
        self.tasks.extend(tasks)
        self.run += summary.total - summary.skipped
        self.reused += summary.skipped

    def frame(self) -> pd.DataFrame:
        """The stored tasks of the sweep so far."""
        frame = self.store.to_frame()
        return frame[frame["task_id"].isin({task.task_id for task in self.tasks})].reset_index(drop=True)


def _next_width(sweep: _Sweep, width: int) -> str | None:
    """Why the sweep does not measure ``width`` (None: it fits the memory and the time budget)."""
    query = sweep.query
    plan = sweep.plan(query.tasks(width))
    if plan.over_budget:
        worst = max(plan.over_budget, key=lambda entry: entry.memory.total_bytes)
        mib = 2**20
        return (
            f"memory: width {width} needs an estimated {worst.memory.total_bytes / mib:.0f} MiB per task, "
            f"{plan.budget_bytes / mib:.0f} MiB free"
        )
    if plan.unknown_time:
        return f"time: no cost model to estimate width {width} (too few finished tasks to calibrate on)"
    spent = float(sweep.frame()["wall_seconds"].sum())
    if spent + plan.estimated_seconds > query.budget_seconds:
        return (
            f"budget: width {width} is estimated at {plan.estimated_seconds:.0f} s, "
            f"{max(0.0, query.budget_seconds - spent):.0f} s of the {query.budget_seconds:g} s budget left"
        )
    return None


def _sweep(sweep: _Sweep) -> str:
    """Run the sweep; return why it stopped."""
    query = sweep.query
    base = [task for width in query.fit_widths for task in query.tasks(width)]
    sweep.plan(base).check_memory()
    sweep.execute(base)
    for width in query.widths[len(query.fit_widths) :]:
        if crossing_confirmed(sweep.frame()):
            break
        reason = _next_width(sweep, width)
        if reason is not None:
            return reason
        sweep.execute(query.tasks(width))
    if crossing_confirmed(sweep.frame()):
        return "crossing: observed and confirmed at one more width"
    return f"max width: {query.widths[-1]} measured, the next doubling is above max_width {query.max_width}"


def advise(
    query: AdviceQuery,
    *,
    store: str | Path = DEFAULT_STORE,
    reports_root: str | Path | None = None,
    threads: int | None = None,
    progress_stream: TextIO | None = None,
) -> Advice:
    """Answer ``query``: run the sweep's missing tasks into the run directory ``store`` (its
    store.sqlite; created if needed) and analyse every task of the sweep.

    The cost model (rscbench.run.planning.plan_run) is calibrated on the store's records, which hold
    the sweep's own tasks (the widths <= 1024 run first), and on the reports under ``reports_root``
    when given (other families' times, which can be far off for this one). ``threads`` is torch's
    thread count per task (default: the CPUs this process may use, rscbench.run.threads). Progress
    goes to ``progress_stream`` (default stderr). Raises InvalidArgumentError for a store folder
    this process cannot write ("store") and RscbenchError when a width <= 1024 does not fit the
    memory free here.
    """
    started = time.perf_counter()
    folder = writable_folder("store", store)
    path = folder / STORE_NAME
    with ResultStore(path) as opened:
        sweep = _Sweep(query, opened, path, reports_root, progress_stream, threads, [])
        stopped = _sweep(sweep)
        frame = with_references(sweep.frame())
    findings = width_findings(frame)
    largest = findings[-1]
    return Advice(
        query=query,
        answer=sweep_answer(frame),
        widths=findings,
        theorem_threshold=largest.theorem_threshold,
        c_H=largest.c_H,
        infinite_width=infinite_width_constants(query),
        stopped=stopped,
        tasks_run=sweep.run,
        tasks_reused=sweep.reused,
        failed=int(frame["status"].isin(("failed", "timeout")).sum()),
        sweep_seconds=float(frame["wall_seconds"].sum()),
        wall_seconds=time.perf_counter() - started,
        store=str(path),
    )
