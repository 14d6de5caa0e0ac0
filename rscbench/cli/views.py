"""What the command prints: the plan of a run, its results by experiment, a compact verdict view that
fits 100 columns (the full table is in report.md and report.html), and the warnings tasks recorded."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rscbench.run.planning import RunPlan
from rscbench.run.progress import clock
from rscbench.run.specs import TaskSpec, flat_values
from rscbench.run.suites import Suite, grid_axes, task_labels, task_order

__all__ = ["WIDTH", "plan_text", "results_text", "verdict_lines", "warning_lines"]

WIDTH = 100
"""Columns the compact views fit in."""

METRICS = {
    "predictor_hessian_max": "hess_f",
    "g_bar_sqnorm": "gbar_sq",
    "loss_hessian_norm": "beta",
    "rsc_lower": "rsc_lower",
    "ntk_lambda_min": "ntk_min",
    "gd_steps_to_target": "gd_steps",
    "gd_rsc_certified_fraction": "certified",
}
"""Metrics shown in the results table, under these short names (the legend says which is which)."""


DEFAULTS = flat_values(TaskSpec())
"""Every task field's default: the plan lists an experiment's fixed fields that differ from it."""


def _seconds(value: float | None) -> str:
    return "?" if value is None else "~" + clock(value)


def plan_text(plan: RunPlan, workers: int = 1) -> str:
    """The plan of a run: each experiment with its fixed fields and time, each task with its grid
    values, estimated time and peak memory, then the totals and what the estimates rest on."""
    suite = plan.suite
    mib = 2**20
    by_id = {entry.task.task_id: entry for entry in plan.tasks}
    groups = {name: [t for t in tasks if t.task_id in by_id] for name, tasks in suite.groups().items()}
    labels = task_labels(groups, suite.axes())
    lines = [f"{suite.name}: {len(plan.tasks)} tasks ({suite.source}), {plan.stored} already stored"]
    if plan.selection:
        lines.append(
            f"selection: {plan.selection} ({len(plan.tasks)} of the suite's {len(suite.tasks())} tasks)"
        )
    for name, tasks in groups.items():
        if not tasks:
            continue
        axes = grid_axes(tasks, suite.axes().get(name, ()))
        fixed = {
            k: v
            for k, v in flat_values(tasks[0]).items()
            if k not in axes and v is not None and v != DEFAULTS[k]
        }
        entries = [by_id[t.task_id] for t in tasks]
        known = [e.estimated_seconds for e in entries if not e.stored and e.estimated_seconds is not None]
        unknown = sum(1 for e in entries if not e.stored and e.estimated_seconds is None)
        time = _seconds(sum(known)) + (f" (+{unknown} unknown)" if unknown else "")
        lines.append(textwrap.fill(f"{name}: {len(tasks)} tasks, {time}; fixed: " + _fields(fixed), WIDTH))
        for task_id in task_order({name: tasks}, suite.axes()):
            entry = by_id[task_id]
            state = "stored" if entry.stored else _seconds(entry.estimated_seconds)
            over = "  OVER BUDGET" if plan.budget_bytes is not None and entry in plan.over_budget else ""
            lines.append(
                f"  {task_id}  {labels[task_id].removeprefix(name).strip():<40} {state:>8}  "
                f"memory<={entry.memory.total_bytes / mib:.0f} MiB ({entry.memory.largest.name}){over}"
            )
    lines += _plan_totals(plan, workers)
    return "\n".join(lines)


def _fields(values: Mapping[str, Any]) -> str:
    def text(value: Any) -> str:
        if isinstance(value, tuple):
            return ",".join(map(str, value)) or "-"
        return f"{value:g}" if isinstance(value, float) else str(value)

    return " ".join(f"{k}={text(v)}" for k, v in values.items())


def _plan_totals(plan: RunPlan, workers: int) -> list[str]:
    pending, unknown = plan.pending, plan.unknown_time
    if pending == 0:
        time = "estimated time: nothing to run (every task is stored)"
    elif unknown == pending:
        time = f"estimated time: unknown for all {pending} tasks to run"
    else:
        total = plan.estimated_seconds
        parallel = f" (~{clock(total / workers)} on {workers} workers)" if workers > 1 else ""
        time = f"estimated time: ~{clock(total)} of task time for {pending - unknown} tasks{parallel}"
        time += f"; unknown for {unknown} more" if unknown else ""
    lines = [time]
    for device, model in sorted(plan.cost_models.items()):
        if model is None:
            text = (
                f"  {device}: no cost model (fewer than 3 measured {device} records under reports/ "
                "or in the store); the progress line learns from the first tasks"
            )
            lines.append(textwrap.fill(text, WIDTH, subsequent_indent="    "))
            continue
        fractions = ", ".join(f"{k} {v:.2f}" for k, v in sorted(model.gd_fraction.items()) if k)
        gd = f"; GD at the median fraction of its step budget run ({fractions})" if fractions else ""
        lines.append(
            textwrap.fill(f"  {device}: cost model {model.assumption}{gd}", WIDTH, subsequent_indent="    ")
        )
    mib = 2**20
    budget = (
        "budget unknown (the device is not here; --memory-budget sets one)"
        if plan.budget_bytes is None
        else f"budget {plan.budget_bytes / mib:.0f} MiB per task; {len(plan.over_budget)} tasks over it"
    )
    peak = f"estimated peak memory: {plan.peak_bytes / mib:.0f} MiB for the largest task; {budget}"
    lines.append(textwrap.fill(peak, WIDTH, subsequent_indent="    "))
    return lines


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def results_text(frame: pd.DataFrame, suite: Suite) -> str:
    """The results of ``suite``'s tasks in ``frame`` (ResultStore.to_frame()), one block per
    experiment, rows in grid order, columns: the grid values, status, seconds and the main metrics."""
    present = set(frame["task_id"])
    groups = {name: [t for t in tasks if t.task_id in present] for name, tasks in suite.groups().items()}
    rows = frame.set_index("task_id")
    blocks, used = [], set()
    for name, tasks in groups.items():
        if not tasks:
            continue
        axes = grid_axes(tasks, suite.axes().get(name, ()))
        order = task_order({name: tasks}, suite.axes())
        table = {axis: [_number(flat_values(t)[axis]) for t in _sorted(tasks, order)] for axis in axes}
        table["status"] = [rows.loc[i, "status"] for i in order]
        table["seconds"] = [f"{rows.loc[i, 'wall_seconds']:.2f}" for i in order]
        for metric, short in METRICS.items():
            column = f"metric.{metric}"
            if column in rows and rows.loc[order, column].notna().any():
                table[short] = [_number(rows.loc[i, column]) for i in order]
                used.add(metric)
        text = pd.DataFrame(table).to_string(index=False)
        blocks.append(f"{name} ({len(tasks)} task{'s' if len(tasks) > 1 else ''})\n{text}")
    legend = [f"{short} = {metric}" for metric, short in METRICS.items() if metric in used]
    legend.append("seconds = the task's wall time")
    return "\n\n".join(blocks) + "\n" + textwrap.fill("; ".join(legend), WIDTH)


def _sorted(tasks: Sequence[Any], order: list[str]) -> list[Any]:
    by_id = {task.task_id: task for task in tasks}
    return [by_id[task_id] for task_id in order]


def _interval(pair: Any) -> str:
    """`` [low, high]`` of a two-number list, or nothing."""
    if isinstance(pair, (list, tuple)) and len(pair) == 2:
        return f" [{_number(pair[0])}, {_number(pair[1])}]"
    return ""


def _headline(verdict: Any) -> str:
    """The verdict's deciding numbers in a few words; its reason when it has no numbers to show."""
    numbers: Mapping[str, Any] = verdict.numbers
    get = numbers.get
    reason = getattr(verdict, "reason", "") or get("reason") or ""
    if reason and verdict.status in ("inconclusive", "not measured") and "exponent" not in numbers:
        return str(reason)
    if "exponent" in numbers:
        band = _interval([get("ci_low"), get("ci_high")]) if get("ci_low") is not None else ""
        counts = (
            f" ({get('n_x')} sizes, {get('n_seeds')} seeds)"
            if "n_x" in numbers and "n_seeds" in numbers
            else ""
        )
        return f"b={_number(get('exponent'))}{band}{counts}"
    if "observed_crossing" in numbers:
        crossing = get("observed_crossing")
        seen = f"crossing at m={_number(crossing)}" if crossing is not None else "no crossing"
        return f"{seen} (widths <= {get('largest_width')})"
    if "m_star" in numbers:
        return f"m*={_number(get('m_star'))}{_interval(get('m_star_ci'))}"
    if "per_layer_factor" in numbers:
        factor = _number(get("per_layer_factor"))
        return f"{get('preferred', '?')}, x{factor}/layer{_interval(get('per_layer_factor_ci'))}"
    if "certified_fraction" in numbers:
        fraction = get("certified_fraction")
        share = f"{fraction:.0%}" if isinstance(fraction, (int, float)) else str(fraction)
        return f"certified at {share} of GD checkpoints (width {get('largest_width')})"
    if "reached_target" in numbers:
        return (
            f"{get('reached_target')}/{get('runs')} reached, {get('geometric_tail')} geometric; "
            f"rate {_number(get('late_rate_median'))} (PL bound {_number(get('pl_bound_rate_median'))})"
        )
    scalars = [(k, v) for k, v in numbers.items() if isinstance(v, (int, float, str)) and v is not True]
    return ", ".join(f"{k}={_number(v)}" for k, v in scalars[:3])


def verdict_lines(verdicts: Sequence[Any], width: int = WIDTH) -> list[str]:
    """One line per verdict (id, subject, aspect, status, deciding numbers), each at most ``width`` columns.

    Reads the fields id, subject, status, numbers and (when a Verdict has them) aspect, reason,
    ``control`` or ``covered``: a subject outside the theory's assumptions is marked a control.
    """
    subjects = [
        str(v.subject)
        + (" (control)" if getattr(v, "control", False) or getattr(v, "covered", True) is False else "")
        for v in verdicts
    ]
    aspects = [str(getattr(v, "aspect", "") or "-") for v in verdicts]
    subject_width = min(20, max([len("subject"), *(len(subject) for subject in subjects)]))
    aspect_width = min(18, max([len("aspect"), *(len(aspect) for aspect in aspects)]))
    lines = [f"{'id':<3} {'subject':<{subject_width}} {'aspect':<{aspect_width}} {'status':<13} numbers"]
    for verdict, subject, aspect in zip(verdicts, subjects, aspects, strict=True):
        if len(subject) > subject_width:
            subject = subject[: subject_width - 1] + "…"
        if len(aspect) > aspect_width:
            aspect = aspect[: aspect_width - 1] + "…"
        line = (
            f"{verdict.id:<3} {subject:<{subject_width}} {aspect:<{aspect_width}} "
            f"{verdict.status:<13} {_headline(verdict)}"
        )
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
    return lines


def warning_lines(frame: pd.DataFrame, labels: Mapping[str, str]) -> list[str]:
    """One line per warning a task recorded, naming the task (its label and id) and the quantity."""
    lines = []
    for row in frame.itertuples(index=False):
        for warning in getattr(row, "warnings", ()) or ():
            lines.append(f"  {labels.get(row.task_id, row.task_id)} ({row.task_id}): {warning}")
    return lines
