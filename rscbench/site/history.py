"""The history page: the main metrics and every verdict across the reports found, commits on the x axis.

Reports are grouped by suite (numbers of different suites are not comparable) and ordered by
creation time. For each suite: a table of every verdict's status per commit (a flip between two
commits is a change in the science) and one chart per verdict claim and headline number (the
fitted exponent, the per-layer depth factor, the RSC-certified fraction, the median GD rate and
steps to target) with one line per subject.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from rscbench.site.charts import line_chart
from rscbench.site.html import Cell, escape, page, sortable_table, status_cell
from rscbench.site.report_page import PublishedReport

__all__ = ["HISTORY_FIELDS", "history_page", "history_series"]

HISTORY_FIELDS = (
    "exponent",
    "per_layer_factor",
    "certified_fraction",
    "median_rate",
    "median_steps_to_target",
)
"""The headline numbers of a verdict followed across commits."""


def _labels(reports: list[PublishedReport]) -> list[str]:
    """Commit labels for the x axis; a commit seen twice gets #2, #3... in creation order."""
    seen: Counter[str] = Counter()
    labels = []
    for report in reports:
        seen[report.commit_label] += 1
        count = seen[report.commit_label]
        labels.append(report.commit_label + (f" #{count}" if count > 1 else ""))
    return labels


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def history_series(
    reports: list[PublishedReport],
) -> dict[tuple[str, str, str], dict[str, list[float | None]]]:
    """(verdict id, claim, field) -> {subject: its value in each report, None where absent}."""
    series: dict[tuple[str, str, str], dict[str, list[float | None]]] = {}
    for position, report in enumerate(reports):
        for verdict in report.document.get("verdicts", []):
            for field in HISTORY_FIELDS:
                value = _number(verdict.get("numbers", {}).get(field))
                if value is None:
                    continue
                lines = series.setdefault((verdict["id"], verdict["claim"], field), {})
                line = lines.setdefault(verdict["subject"], [None] * len(reports))
                line[position] = value
    return series


def _status_table(suite: str, reports: list[PublishedReport], labels: list[str]) -> str:
    claims: dict[tuple[str, str, str], dict[int, str]] = {}
    for position, report in enumerate(reports):
        for verdict in report.document.get("verdicts", []):
            key = (verdict["id"], verdict["subject"], verdict["claim"])
            claims.setdefault(key, {})[position] = verdict["status"]
    rows = []
    for (identifier, subject, claim), statuses in sorted(claims.items()):
        cells = [Cell(escape(identifier)), Cell(escape(subject)), Cell(escape(claim))]
        for position in range(len(reports)):
            status = statuses.get(position)
            cells.append(status_cell(status, status, claim) if status else Cell("", ""))
        rows.append(cells)
    return sortable_table(f"history-{suite}", ["id", "subject", "claim", *labels], rows)


def history_page(reports: list[PublishedReport]) -> str:
    """The history page's HTML for every report (any order; grouped by suite, ordered by creation time)."""
    suites: dict[str, list[PublishedReport]] = {}
    for report in reports:
        suites.setdefault(report.document.get("suite", {}).get("name") or "unknown", []).append(report)
    sections = []
    for suite, members in sorted(suites.items()):
        members = sorted(members, key=lambda r: r.document.get("created_at") or "")
        labels = _labels(members)
        charts = [
            line_chart(f"{identifier} {field}", labels, lines, subtitle=claim)
            for (identifier, claim, field), lines in sorted(history_series(members).items())
        ]
        links = ", ".join(
            f'<a href="reports/{escape(r.path)}/index.html">{escape(label)}</a>'
            for r, label in zip(members, labels, strict=True)
        )
        sections.append(
            f"<h2>Suite {escape(suite)}</h2>"
            f"<p class='meta'>{len(members)} report(s), oldest first: {links}.</p>"
            f"<h3>Verdicts per commit</h3>{_status_table(suite, members, labels)}"
            f"<h3>Main metrics per commit</h3><div class='charts'>{''.join(c for c in charts if c)}</div>"
        )
    body = (
        "<p>Every report found, per suite, commits on the x axis (oldest left): a verdict that flips or a "
        "metric that moves between two commits is a change in the science.</p>"
        + ("".join(sections) if sections else "<p>No report found.</p>")
    )
    return page("History of the main metrics", body, root="")
