"""Versioned reports: one folder per completed run with JSON, tidy CSV, verdicts and Markdown.

A report lives in ``<run dir>/<UTC timestamp>-<commit8>/`` (docs/cli.md) and is written from
the store alone, so it can be rebuilt without recomputing anything. ``report.json`` carries
``schema_version`` (rscbench.report.schema.REPORT_SCHEMA_VERSION) so readers can migrate or refuse it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rscbench import __version__
from rscbench.analysis.metrics import METRICS, metric_info
from rscbench.analysis.references import with_references
from rscbench.analysis.regimes import regime_table, task_regime
from rscbench.analysis.verdicts import VERDICTS_VERSION, Verdict, judge, regime_findings
from rscbench.errors import InvalidArgumentError
from rscbench.report.escape import csv_safe
from rscbench.report.folders import place_folder, scratch_folder, update_index
from rscbench.report.plots import write_plots
from rscbench.report.plots.regime_map import map_note
from rscbench.report.render import ReportContent, html_page, latex_table, markdown_page
from rscbench.report.schema import REPORT_SCHEMA_VERSION, fits_table
from rscbench.report.sections import measurement_tables, reference_table, regime_counts, unconverged_estimates
from rscbench.run.specs import MEASUREMENT_VERSION, TaskSpec
from rscbench.run.suites import Suite
from rscbench.store import ResultStore, TaskRecord

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "Report",
    "check_record",
    "environment",
    "git_state",
    "latex_table",
    "tidy_results",
    "write_report",
]


def git_state() -> dict[str, Any]:
    """The commit and dirty flag of the checkout rscbench was imported from (None outside git)."""
    root = Path(__file__).resolve().parent.parent

    def git(*arguments: str) -> str | None:
        try:
            done = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def environment() -> dict[str, Any]:
    """Python, torch, CUDA, CPU and GPU of this machine, for the report's provenance."""
    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpus": gpus,
    }


def _safe(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, non-finite floats to the strings "nan", "inf", "-inf"."""
    if isinstance(value, dict):
        return {str(key): _safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_safe(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def tidy_results(frame: pd.DataFrame, experiments: dict[str, str]) -> pd.DataFrame:
    """One row per task x metric with its unit and better direction (the results.csv table); each row
    also carries its task's experiment, status, regime (primary label) and regime_labels ("+"-joined,
    rscbench.analysis.regimes) and spec fields."""
    spec_columns = [c for c in frame.columns if c.startswith("spec.")]
    metric_columns = [c for c in frame.columns if c.startswith("metric.")]
    base = frame[["task_id", "status", *spec_columns]].copy()
    base.insert(1, "experiment", frame["task_id"].map(experiments))
    regimes = regime_table(frame)
    base.insert(3, "regime", regimes["regime"].to_numpy())
    base.insert(4, "regime_labels", regimes["regime_labels"].to_numpy())
    long = frame[["task_id", *metric_columns]].melt(id_vars="task_id", var_name="metric", value_name="value")
    long = long.dropna(subset=["value"])
    long["metric"] = long["metric"].str.removeprefix("metric.")
    long["unit"] = long["metric"].map(lambda name: metric_info(name).unit)
    long["better"] = long["metric"].map(lambda name: metric_info(name).better)
    merged = base.merge(long, on="task_id")
    merged.columns = [c.removeprefix("spec.") for c in merged.columns]
    return merged.sort_values(["experiment", "task_id", "metric"], kind="stable").reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class Report:
    """A written report: its ``folder`` and the ``verdicts`` it holds."""

    folder: Path
    verdicts: list[Verdict]


def check_record(record: TaskRecord, store_path: Path, *, task_spec: bool = True) -> None:
    """Refuse a stored record a report would misread: with ``task_spec`` (a suite's task, not a
    monitored training run, whose spec is of its own kind) its spec must be a valid task whose content
    hash is the record's task id (a store edited by hand fails here), and each registered metric must
    hold a value of its kind (text, true/false or a number, as its unit says). Raises InvalidArgumentError
    naming the store, the task and the field."""
    where = f"store {store_path}: task {record.task_id}"
    if task_spec:
        try:
            same = TaskSpec.from_dict(record.spec).task_id == record.task_id
        except InvalidArgumentError as error:
            argument = f"{where}: spec.{error.argument}"
            raise InvalidArgumentError(argument, error.value, error.allowed) from None
        if not same:
            raise InvalidArgumentError(
                f"{where}: spec", "a spec of another task", "the spec whose content hash is the task id"
            )
    for name, value in record.metrics.items():
        if name not in METRICS or value is None:
            continue
        unit = METRICS[name].unit
        if unit in ("text", "bool"):
            fits, allowed = isinstance(value, str if unit == "text" else bool), f"a {unit} value"
        else:
            fits, allowed = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        if not fits:
            raise InvalidArgumentError(f"{where}: metrics.{name}", value, allowed)


def write_report(run_dir: Path, suite: Suite, store: ResultStore, *, seed: int = 0) -> Report:
    """Write the report of ``suite``'s tasks found in ``store`` into a new folder of ``run_dir``.

    Contents: report.json, results.csv (every stored metric and the infinite-width references; and
    results.parquet when pyarrow is installed), verdicts.csv, verdicts.tex, report.md, report.html
    (self-contained: images inlined, no network) and plots/ (PNG and PDF). Every record is checked
    first (:func:`check_record`). The folder is written under a hidden scratch name and renamed into
    place once complete (rscbench.report.folders), so a report killed midway is never read; a
    report folder under a ``reports/`` folder updates its index.
    """
    tasks = {task.task_id: task for task in suite.tasks()}
    ids = set(tasks)
    records = [record for record in store.records() if record.task_id in ids]
    for record in records:
        check_record(record, store.path, task_spec=isinstance(tasks[record.task_id], TaskSpec))
    frame = store.to_frame()
    frame = frame[frame["task_id"].isin(ids)].reset_index(drop=True)
    trajectories = store.trajectory_frame()
    if not trajectories.empty:
        trajectories = trajectories[trajectories["task_id"].isin(ids)].reset_index(drop=True)
    verdicts = judge(frame, trajectories, seed=seed)
    findings = regime_findings(frame, trajectories, seed=seed)
    now = datetime.datetime.now(datetime.UTC)
    git = git_state()
    name = f"{now:%Y%m%dT%H%M%SZ}-{(git['commit'] or 'nogit')[:8]}"
    meta = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "rscbench_version": __version__,
        "measurement_version": MEASUREMENT_VERSION,
        "verdicts_version": VERDICTS_VERSION,
        "created_at": now.isoformat(),
        "git": git,
        "environment": environment(),
        "suite": {"name": suite.name, "description": suite.description, "source": suite.source},
        "dataset_hashes": {
            record.spec["data"]["dataset"]: record.metrics["dataset_hash"]
            for record in records
            if record.metrics.get("dataset_hash")
        },
        "statuses": {str(k): int(v) for k, v in frame["status"].value_counts().items()},
    }
    scratch = scratch_folder(run_dir, name)
    try:
        _write_files(scratch, meta, suite, records, frame, trajectories, verdicts, findings, seed)
        folder = place_folder(scratch, run_dir, name)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)  # the scratch folder this call made, nothing else
        raise
    if run_dir.resolve().parent.name == "reports":
        update_index(run_dir.resolve().parent)
    return Report(folder, verdicts)


def _write_files(
    folder: Path,
    meta: dict[str, Any],
    suite: Suite,
    records: list[TaskRecord],
    frame: pd.DataFrame,
    trajectories: pd.DataFrame,
    verdicts: list[Verdict],
    findings: list[Any],
    seed: int,
) -> None:
    """Every file of a report into ``folder`` (see write_report)."""
    experiments = suite.experiment_of()
    referenced = with_references(frame)
    content = ReportContent(
        meta=meta,
        verdicts=verdicts,
        findings=findings,
        regimes=regime_counts(frame, frame["task_id"].map(experiments)),
        regime_note=map_note(frame),
        references=reference_table(referenced),
        measurements=measurement_tables(referenced, referenced["task_id"].map(experiments)),
        unconverged=unconverged_estimates(frame, trajectories),
        plots=write_plots(frame, trajectories, folder / "plots", seed=seed) if not frame.empty else [],
    )
    verdict_documents = [dataclasses.asdict(verdict) for verdict in verdicts]
    document = meta | {
        "verdicts": verdict_documents,
        "findings": [dataclasses.asdict(finding) for finding in findings],
        "fits": fits_table(verdict_documents),
        "references": content.references.to_dict(orient="records"),
        "measurements": {q: table.to_dict(orient="records") for q, table in content.measurements.items()},
        "unconverged": content.unconverged.to_dict(orient="records"),
        "tasks": [_task_document(record, experiments.get(record.task_id)) for record in records],
        "plots": [f"plots/{path.name}" for path in content.plots],
    }
    (folder / "report.json").write_text(json.dumps(_safe(document), indent=1, sort_keys=False))
    results = tidy_results(referenced, experiments)
    csv_safe(results).to_csv(folder / "results.csv", index=False)
    with contextlib.suppress(ImportError):  # parquet only when pyarrow is installed
        results.to_parquet(folder / "results.parquet", index=False)
    csv_safe(_verdict_csv(verdicts)).to_csv(folder / "verdicts.csv", index=False)
    (folder / "report.md").write_text(markdown_page(content))
    (folder / "report.html").write_text(html_page(content))
    (folder / "verdicts.tex").write_text(latex_table(verdicts))


def _task_document(record: TaskRecord, experiment: str | None) -> dict[str, Any]:
    """A task's entry in report.json: its record, its experiment and its regime labels."""
    regime = task_regime(record.status, record.metrics)
    labels = {"regime": regime.primary, "regime_labels": list(regime.labels)}
    return record.to_dict() | {"experiment": experiment} | labels


def _verdict_csv(verdicts: list[Verdict]) -> pd.DataFrame:
    """verdicts.csv: every verdict field, numbers and source as JSON."""
    columns = ["id", "form", "subject", "aspect", "covered", "status", "claim", "expectation", "reason"]
    rows = [
        {name: getattr(v, name) for name in columns}
        | {"numbers": json.dumps(_safe(v.numbers)), "source": json.dumps(_safe(v.source))}
        for v in verdicts
    ]
    return pd.DataFrame(rows, columns=[*columns, "numbers", "source"])
