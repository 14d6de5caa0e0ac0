"""Versioned reports: one folder per completed run with JSON, tidy CSV, verdicts and Markdown.

A report lives in ``<run dir>/<UTC timestamp>-<commit8>/`` (docs/cli.md) and is written from
the store alone, so it can be rebuilt without recomputing anything. ``report.json`` carries
``schema_version`` (rscbench.report.schema.REPORT_SCHEMA_VERSION) so readers can migrate or refuse it.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import html
import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rscbench import __version__
from rscbench.analysis.metrics import metric_info
from rscbench.analysis.verdicts import Verdict, judge, verdict_table
from rscbench.report.plots import write_plots
from rscbench.report.schema import REPORT_SCHEMA_VERSION, fits_table
from rscbench.run.specs import MEASUREMENT_VERSION
from rscbench.run.suites import Suite
from rscbench.store import ResultStore

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "Report",
    "environment",
    "git_state",
    "tidy_results",
    "update_index",
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
    """One row per task x metric with its unit and better direction (the results.csv table)."""
    spec_columns = [c for c in frame.columns if c.startswith("spec.")]
    metric_columns = [c for c in frame.columns if c.startswith("metric.")]
    base = frame[["task_id", "status", *spec_columns]].copy()
    base.insert(1, "experiment", frame["task_id"].map(experiments))
    long = frame[["task_id", *metric_columns]].melt(id_vars="task_id", var_name="metric", value_name="value")
    long = long.dropna(subset=["value"])
    long["metric"] = long["metric"].str.removeprefix("metric.")
    long["unit"] = long["metric"].map(lambda name: metric_info(name).unit)
    long["better"] = long["metric"].map(lambda name: metric_info(name).better)
    merged = base.merge(long, on="task_id")
    merged.columns = [c.removeprefix("spec.") for c in merged.columns]
    return merged.sort_values(["experiment", "task_id", "metric"], kind="stable").reset_index(drop=True)


def _markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [
        "| " + " | ".join(str(value).replace("|", "\\|") for value in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *lines])


def _markdown(
    meta: dict[str, Any], verdicts: list[Verdict], plots: list[Path], counts: dict[str, int]
) -> str:
    git = meta["git"]
    commit = (git["commit"] or "unknown")[:8] + (" (dirty)" if git["dirty"] else "")
    env = meta["environment"]
    lines = [
        f"# rscbench report: {meta['suite']['name']}",
        "",
        f"- created {meta['created_at']} by rscbench {meta['rscbench_version']} "
        f"(measurement version {meta['measurement_version']}), commit {commit}",
        f"- machine: {env['cpu']}; GPUs: {', '.join(env['gpus']) or 'none'}; "
        f"torch {env['torch']}, Python {env['python']}",
        f"- tasks: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})",
        "",
        "## Verdicts (docs/verdicts.md)",
        "",
        _markdown_table(verdict_table(verdicts)) if verdicts else "No sweep in this run allows a verdict.",
        "",
    ]
    if plots:
        lines += ["## Plots", ""] + [f"![{path.stem}](plots/{path.name})" for path in plots] + [""]
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Report:
    """A written report: its ``folder`` and the ``verdicts`` it holds."""

    folder: Path
    verdicts: list[Verdict]


def _html(markdown_meta: dict[str, Any], verdicts: list[Verdict], plots: list[Path]) -> str:
    """A self-contained page: the provenance, the verdict table and every plot inlined as base64 PNG."""
    git = markdown_meta["git"]
    env = markdown_meta["environment"]
    commit = (git["commit"] or "unknown")[:8] + (" (dirty)" if git["dirty"] else "")
    rows = verdict_table(verdicts)
    table = rows.to_html(index=False, escape=True, border=0, classes="verdicts") if not rows.empty else ""
    figures = "\n".join(
        f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}">'
        f"<figcaption>{html.escape(path.stem)}</figcaption></figure>"
        for path in plots
    )
    title = html.escape(f"rscbench report: {markdown_meta['suite']['name']}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:0.85em}}
td,th{{border-bottom:1px solid #ccc;padding:0.3em 0.6em;text-align:left}}
figure{{margin:1.5em 0}}img{{max-width:100%}}</style></head>
<body><h1>{title}</h1>
<p>Created {html.escape(markdown_meta["created_at"])}
by rscbench {html.escape(markdown_meta["rscbench_version"])}, commit {html.escape(commit)};
machine: {html.escape(str(env["cpu"]))}; torch {html.escape(env["torch"])}.</p>
<h2>Verdicts (docs/verdicts.md)</h2>
{table}
<h2>Plots</h2>
{figures}
</body></html>
"""


def latex_table(verdicts: list[Verdict]) -> str:
    """The verdicts as a LaTeX tabular (booktabs), ready for a paper."""

    def escape(text: str) -> str:
        for char, replacement in (
            ("\\", r"\textbackslash{}"),
            ("&", r"\&"),
            ("%", r"\%"),
            ("_", r"\_"),
            ("#", r"\#"),
            ("^", r"\^{}"),
            ("|", r"$|$"),
        ):
            text = text.replace(char, replacement)
        return text

    lines = [r"\begin{tabular}{llll}", r"\toprule", r"Verdict & Subject & Status & Numbers \\", r"\midrule"]
    for row in verdict_table(verdicts).itertuples(index=False):
        lines.append(
            f"{escape(row.id)} & {escape(row.subject)} & {escape(row.status)} & {escape(row.numbers)} \\\\"
        )
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_report(run_dir: Path, suite: Suite, store: ResultStore, *, seed: int = 0) -> Report:
    """Write the report of ``suite``'s tasks found in ``store`` into a new folder of ``run_dir``.

    Contents: report.json, results.csv (and results.parquet when pyarrow is installed),
    verdicts.csv, verdicts.tex, report.md, report.html (self-contained: images inlined, no
    network) and plots/ (PNG and PDF).
    """
    ids = {task.task_id for task in suite.tasks()}
    frame = store.to_frame()
    frame = frame[frame["task_id"].isin(ids)].reset_index(drop=True)
    trajectories = store.trajectory_frame()
    if not trajectories.empty:
        trajectories = trajectories[trajectories["task_id"].isin(ids)].reset_index(drop=True)
    verdicts = judge(frame, trajectories, seed=seed)
    now = datetime.datetime.now(datetime.UTC)
    git = git_state()
    folder = run_dir / f"{now:%Y%m%dT%H%M%SZ}-{(git['commit'] or 'nogit')[:8]}"
    folder.mkdir(parents=True, exist_ok=False)

    experiments = suite.experiment_of()
    records = [record for record in store.records() if record.task_id in ids]
    datasets = {
        record.spec["data"]["dataset"]: record.metrics.get("dataset_hash")
        for record in records
        if record.metrics.get("dataset_hash")
    }
    counts = {str(k): int(v) for k, v in frame["status"].value_counts().items()}
    meta = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "rscbench_version": __version__,
        "measurement_version": MEASUREMENT_VERSION,
        "created_at": now.isoformat(),
        "git": git,
        "environment": environment(),
        "suite": {"name": suite.name, "description": suite.description, "source": suite.source},
        "dataset_hashes": datasets,
        "statuses": counts,
    }
    plots = write_plots(frame, trajectories, folder / "plots", seed=seed) if not frame.empty else []
    verdict_documents = [dataclasses.asdict(verdict) for verdict in verdicts]
    document = meta | {
        "verdicts": verdict_documents,
        "fits": fits_table(verdict_documents),
        "tasks": [record.to_dict() | {"experiment": experiments.get(record.task_id)} for record in records],
        "plots": [f"plots/{path.name}" for path in plots],
    }
    (folder / "report.json").write_text(json.dumps(_safe(document), indent=1, sort_keys=False))
    results = tidy_results(frame, experiments)
    results.to_csv(folder / "results.csv", index=False)
    with contextlib.suppress(ImportError):  # parquet only when pyarrow is installed
        results.to_parquet(folder / "results.parquet", index=False)
    table = pd.DataFrame(
        [
            {
                "id": v.id,
                "subject": v.subject,
                "status": v.status,
                "claim": v.claim,
                "numbers": json.dumps(_safe(v.numbers)),
                "source": json.dumps(_safe(v.source)),
            }
            for v in verdicts
        ],
        columns=["id", "subject", "status", "claim", "numbers", "source"],
    )
    table.to_csv(folder / "verdicts.csv", index=False)
    (folder / "report.md").write_text(_markdown(meta, verdicts, plots, counts))
    (folder / "report.html").write_text(_html(meta, verdicts, plots))
    (folder / "verdicts.tex").write_text(latex_table(verdicts))
    if run_dir.resolve().parent.name == "reports":
        update_index(run_dir.resolve().parent)
    return Report(folder, verdicts)


def update_index(reports_root: Path) -> Path:
    """Rewrite ``reports_root/index.json``: every report.json below it, newest first, with its headline."""
    entries = []
    for path in sorted(reports_root.glob("*/*/report.json")):
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        statuses: dict[str, int] = {}
        for verdict in document.get("verdicts", []):
            statuses[verdict["status"]] = statuses.get(verdict["status"], 0) + 1
        entries.append(
            {
                "path": str(path.parent.relative_to(reports_root)),
                "suite": document.get("suite", {}).get("name"),
                "created_at": document.get("created_at"),
                "commit": document.get("git", {}).get("commit"),
                "schema_version": document.get("schema_version"),
                "verdicts": statuses,
            }
        )
    entries.sort(key=lambda entry: entry["created_at"] or "", reverse=True)
    index = reports_root / "index.json"
    index.write_text(json.dumps({"reports": entries}, indent=1))
    return index
