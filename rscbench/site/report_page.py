"""One site page per report: provenance, the verdicts (sortable), the regime labels' counts, the plots
and the downloads."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rscbench.analysis.regimes import REGIME_LABELS
from rscbench.analysis.verdicts import Verdict, verdict_table
from rscbench.report import latex_table
from rscbench.site.html import Cell, escape, page, sortable_table, status_cell

__all__ = ["PublishedReport", "regime_rows", "report_verdicts", "write_report_page"]

COPIED = ("report.json", "results.csv", "verdicts.csv", "report.md", "report.html", "verdicts.tex")
DOWNLOAD_LABELS = {
    "results.csv": "results (CSV, one row per task x metric)",
    "verdicts.csv": "verdicts (CSV)",
    "report.md": "report (Markdown)",
    "verdicts.tex": "verdict table (LaTeX)",
    "report.json": "every record (JSON)",
    "report.html": "self-contained report (HTML)",
}


@dataclass(frozen=True)
class PublishedReport:
    """A report found: ``path`` below the reports folder (<suite>/<stamp>-<commit8>), folder and document."""

    path: str
    folder: Path
    document: dict[str, Any]

    @property
    def commit_label(self) -> str:
        """The commit's first 8 hex digits, with '+dirty' when the checkout had local changes."""
        git = self.document.get("git", {})
        label = (git.get("commit") or "unknown")[:8]
        return label + ("+dirty" if git.get("dirty") else "")


def report_verdicts(document: dict[str, Any]) -> list[Verdict]:
    """The report's verdicts as Verdict objects (the report.json form holds their fields)."""
    names = [f.name for f in fields(Verdict)]
    return [
        Verdict(**{name: item[name] for name in names if name in item})
        for item in document.get("verdicts", [])
    ]


def regime_rows(document: dict[str, Any]) -> tuple[list[str], list[list[Cell]]]:
    """(columns, rows): per experiment, its tasks and how many carry each regime label (a task with
    several labels counts under each), from the report's ``regime_labels``; one column per label
    some task carries, in REGIME_LABELS order."""
    tasks: Counter[str] = Counter()
    carried: dict[str, Counter[str]] = {}
    for task in document.get("tasks", []):
        experiment = str(task.get("experiment") or "")
        tasks[experiment] += 1
        carried.setdefault(experiment, Counter()).update(task.get("regime_labels", ()))
    present = [label for label in REGIME_LABELS if any(label in counts for counts in carried.values())]
    rows = [
        [Cell(escape(experiment), experiment), Cell(str(tasks[experiment]), tasks[experiment])]
        + [Cell(str(carried[experiment][label]), carried[experiment][label]) for label in present]
        for experiment in sorted(tasks)
    ]
    return ["experiment", "tasks", *present], rows


def write_report_page(report: PublishedReport, target: Path, root: str) -> Path:
    """Write ``target``/index.html for ``report`` and copy its plots and downloadable files beside it.

    A report without verdicts.tex gets one written from its verdicts (rscbench.report.latex_table).
    """
    target.mkdir(parents=True, exist_ok=True)
    document = report.document
    verdicts = report_verdicts(document)
    downloads = []
    for name in COPIED:
        source = report.folder / name
        if source.is_file():
            shutil.copyfile(source, target / name)
            downloads.append(name)
    if "verdicts.tex" not in downloads:
        (target / "verdicts.tex").write_text(latex_table(verdicts))
        downloads.append("verdicts.tex")
    figures = []
    for plot in document.get("plots", []):
        source = report.folder / plot
        if source.suffix == ".png" and source.is_file():
            (target / "plots").mkdir(exist_ok=True)
            shutil.copyfile(source, target / "plots" / source.name)
            pdf = source.with_suffix(".pdf")
            if pdf.is_file():
                shutil.copyfile(pdf, target / "plots" / pdf.name)
            figures.append(source)
    env = document.get("environment", {})
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(document.get("statuses", {}).items()))
    table = verdict_table(verdicts)
    rows = [
        [
            Cell(escape(row.id)),
            Cell(escape(row.subject)),
            status_cell(row.status, row.status, row.claim),
            Cell(escape(row.claim)),
            Cell(escape(row.numbers)),
        ]
        for row in table.itertuples(index=False)
    ]
    columns = ["id", "subject", "status", "claim", "numbers"]
    verdict_html = sortable_table("verdicts", columns, rows) if rows else "<p>No verdict.</p>"
    regime_columns, regimes = regime_rows(document)
    regime_html = sortable_table("regimes", regime_columns, regimes) if regimes else "<p>No task.</p>"
    figure_html = "\n".join(
        f'<figure><img src="plots/{escape(path.name)}" alt="{escape(path.stem)}">'
        f'<figcaption>{escape(path.stem)} (<a href="plots/{escape(path.with_suffix(".pdf").name)}">PDF</a>)'
        "</figcaption></figure>"
        for path in figures
    )
    links = "".join(
        f'<li><a href="{escape(name)}" download>{escape(name)}</a>: {escape(DOWNLOAD_LABELS[name])}</li>'
        for name in downloads
    )
    body = f"""<p class="meta">Suite <strong>{escape(document.get("suite", {}).get("name"))}</strong>
({escape(document.get("suite", {}).get("description", ""))}); created {escape(document.get("created_at"))}
by rscbench {escape(document.get("rscbench_version"))} (measurement version
{escape(document.get("measurement_version"))}), commit {escape(report.commit_label)};
machine {escape(env.get("cpu"))}, torch {escape(env.get("torch"))}; tasks: {escape(statuses)}.</p>
<h2>Verdicts (docs/verdicts.md)</h2>
{verdict_html}
<h2>Regimes (docs/verdicts.md, Regime labels)</h2>
<p>Tasks of each experiment carrying each regime label; a task may carry several.</p>
{regime_html}
<h2>Plots</h2>
{figure_html or "<p>No plot.</p>"}
<h2>Downloads</h2>
<ul class="downloads">{links}</ul>
"""
    index = target / "index.html"
    index.write_text(page(f"Report {report.path}", body, root=root))
    return index
