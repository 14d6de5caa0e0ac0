"""The report's text forms: report.md, report.html and verdicts.tex, from the verdicts, the regime
findings and the tables of rscbench.report.sections. Every cell and heading goes through the format's
one escaper (rscbench.report.escape)."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rscbench.analysis.metrics import QUANTITY_TITLES
from rscbench.analysis.verdicts import Finding, Verdict, finding_table, verdict_table
from rscbench.report.escape import latex_escape, markdown_cell, markdown_table

__all__ = ["ReportContent", "html_page", "latex_table", "markdown_page"]

_VERDICT_COLUMNS = [
    "id",
    "form",
    "subject",
    "aspect",
    "setting",
    "covered",
    "status",
    "numbers",
    "expectation",
    "reason",
]


@dataclass(frozen=True)
class ReportContent:
    """What a report shows: provenance ``meta``, ``verdicts``, ``findings``, the ``regimes`` counts
    (rscbench.report.sections.regime_counts) with the ``regime_note`` on the regime map, the
    ``references`` table, one ``measurements`` table per requested quantity, the ``unconverged``
    estimates and ``plots``."""

    meta: dict[str, Any]
    verdicts: list[Verdict]
    findings: list[Finding]
    regimes: pd.DataFrame
    regime_note: str
    references: pd.DataFrame
    measurements: dict[str, pd.DataFrame]
    unconverged: pd.DataFrame
    plots: list[Path]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else ("" if math.isnan(value) else str(value))
    return "" if value is None else str(value)


def _frame_markdown(frame: pd.DataFrame) -> str:
    return markdown_table(
        list(frame.columns), [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    )


def _provenance(meta: dict[str, Any]) -> tuple[str, str, str]:
    git, env = meta["git"], meta["environment"]
    commit = (git["commit"] or "unknown")[:8] + (" (dirty)" if git["dirty"] else "")
    created = (
        f"created {meta['created_at']} by rscbench {meta['rscbench_version']} "
        f"(measurement version {meta['measurement_version']}, verdicts version {meta['verdicts_version']}), "
        f"commit {commit}"
    )
    gpus = ", ".join(env["gpus"]) or "none"
    machine = f"machine: {env['cpu']}; GPUs: {gpus}; torch {env['torch']}, Python {env['python']}"
    counts = meta["statuses"]
    tasks = f"tasks: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
    return created, machine, tasks


_UNCONVERGED_NOTE = "none: every Lanczos estimate met its tolerance"
_REGIME_NOTE = (
    "Tasks of each experiment carrying each regime label (docs/verdicts.md, Regime labels); a task "
    "may carry several; its primary label, the first of them in the order of the columns, is the "
    "regime field of its report.json entry and of its results.csv rows and colours the regime map."
)
_REFERENCE_NOTE = (
    "Infinite-width values at each width's own sigma0(m), the NTK limit with its 1/m W-block term "
    "(docs/verdicts.md, Analytic infinite-width references); medians over seeds at init."
)


def markdown_page(content: ReportContent) -> str:
    """report.md: provenance, verdicts, regime findings, the regime counts, the infinite-width table,
    every requested quantity's measurements, the unconverged estimates and the plots."""
    meta = content.meta
    created, machine, tasks = _provenance(meta)
    lines = [
        f"# rscbench report: {markdown_cell(meta['suite']['name'])}",
        "",
        f"- {markdown_cell(created)}",
        f"- {markdown_cell(machine)}",
        f"- {markdown_cell(tasks)}",
        "",
    ]
    lines += ["## Verdicts (docs/verdicts.md)", ""]
    table = verdict_table(content.verdicts)
    lines += [_frame_markdown(table[[*_VERDICT_COLUMNS[:7], "claim", *_VERDICT_COLUMNS[7:]]]), ""]
    lines += ["## Regime findings", ""]
    findings = finding_table(content.findings)
    lines += [
        _frame_markdown(findings) if not findings.empty else "No depth sweep of ||g_bar||^2 in this run.",
        "",
    ]
    lines += ["## Regimes", "", _REGIME_NOTE, ""]
    lines += [_frame_markdown(content.regimes) if not content.regimes.empty else "No task.", ""]
    lines += [markdown_cell(content.regime_note), ""]
    lines += ["## Measured against the infinite-width limit", "", _REFERENCE_NOTE, ""]
    lines += [
        _frame_markdown(content.references) if not content.references.empty else "No reference applies.",
        "",
    ]
    lines += ["## Measurements by quantity (medians over seeds)", ""]
    for quantity, frame in content.measurements.items():
        heading = markdown_cell(f"{quantity}: {QUANTITY_TITLES[quantity]}")
        lines += [f"### {heading}", "", _frame_markdown(frame), ""]
    lines += ["## Estimates that missed their tolerance", ""]
    unconverged = content.unconverged
    lines += [_frame_markdown(unconverged) if not unconverged.empty else _UNCONVERGED_NOTE, ""]
    if content.plots:
        images = [f"![{markdown_cell(path.stem)}](plots/{path.name})" for path in content.plots]
        lines += ["## Plots", "", *images, ""]
    return "\n".join(lines)


def _html_table(frame: pd.DataFrame, css: str = "") -> str:
    if frame.empty:
        return ""
    shown = frame.map(_cell) if hasattr(frame, "map") else frame.applymap(_cell)
    return shown.to_html(index=False, escape=True, border=0, classes=css or None)


def html_page(content: ReportContent) -> str:
    """report.html: the Markdown page's sections as a self-contained page (plots inlined as base64 PNG)."""
    meta = content.meta
    created, machine, tasks = (html.escape(part) for part in _provenance(meta))
    title = html.escape(f"rscbench report: {meta['suite']['name']}")
    sections = [
        "<h2>Verdicts (docs/verdicts.md)</h2>",
        _html_table(verdict_table(content.verdicts), "verdicts"),
        "<h2>Regime findings</h2>",
        _html_table(finding_table(content.findings)) or "<p>No depth sweep of ||g_bar||^2 in this run.</p>",
        "<h2>Regimes</h2>",
        f"<p>{html.escape(_REGIME_NOTE)}</p>",
        _html_table(content.regimes) or "<p>No task.</p>",
        f"<p>{html.escape(content.regime_note)}</p>",
        "<h2>Measured against the infinite-width limit</h2>",
        f"<p>{html.escape(_REFERENCE_NOTE)}</p>",
        _html_table(content.references) or "<p>No reference applies.</p>",
        "<h2>Measurements by quantity (medians over seeds)</h2>",
    ]
    for quantity, frame in content.measurements.items():
        sections += [
            f"<h3>{html.escape(quantity)}: {html.escape(QUANTITY_TITLES[quantity])}</h3>",
            _html_table(frame),
        ]
    sections += ["<h2>Estimates that missed their tolerance</h2>"]
    sections += [_html_table(content.unconverged) or f"<p>{html.escape(_UNCONVERGED_NOTE)}</p>"]
    figures = "\n".join(
        f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}">'
        f"<figcaption>{html.escape(path.stem)}</figcaption></figure>"
        for path in content.plots
    )
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:0.8em}}
td,th{{border-bottom:1px solid #ccc;padding:0.3em 0.6em;text-align:left}}
figure{{margin:1.5em 0}}img{{max-width:100%}}</style></head>
<body><h1>{title}</h1>
<p>{created}<br>{machine}<br>{tasks}</p>
{body}
<h2>Plots</h2>
{figures}
</body></html>
"""


def latex_table(verdicts: list[Verdict]) -> str:
    """The verdicts as a LaTeX tabular (booktabs), ready for a paper: id, subject, aspect, status and the
    headline numbers (a control's expectation or a row's reason after them)."""
    lines = [
        r"\begin{tabular}{lllll}",
        r"\toprule",
        r"Verdict & Subject & Aspect & Status & Numbers \\",
        r"\midrule",
    ]
    for row in verdict_table(verdicts).itertuples(index=False):
        note = "; ".join(part for part in (row.numbers, row.expectation, row.reason) if part)
        cells = (
            f"{row.id} ({row.form})" if row.id != row.form else row.id,
            row.subject,
            row.aspect,
            row.status,
            note,
        )
        lines.append(" & ".join(latex_escape(cell) for cell in cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
