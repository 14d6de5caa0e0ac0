"""HTML building blocks of the site: the page frame, sortable tables and status cells.

Every page links its stylesheet and script by relative paths and embeds its data in the markup,
so the site works opened from disk (file://) as well as from any plain file server.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Cell", "escape", "page", "sortable_table", "status_cell"]

STATUS_CLASSES = {
    "supported": "supported",
    "holds": "supported",
    "not supported": "not-supported",
    "fails": "not-supported",
    "inconclusive": "inconclusive",
}
STATUS_ORDER = {
    "supported": 2,
    "holds": 2,
    "inconclusive": 1,
    "not measured": 1,
    "not supported": 0,
    "fails": 0,
}


def escape(text: Any) -> str:
    """``text`` as HTML-escaped text (quotes included)."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Cell:
    """A table cell: its ``html`` content, the ``value`` it sorts by (None: by its text), a CSS class."""

    html: str
    value: float | str | None = None
    css: str = ""
    title: str = ""


def status_cell(status: str, mark: str, claim: str) -> Cell:
    """A check's status as a coloured mark that sorts supported > inconclusive > not supported."""
    return Cell(
        escape(mark),
        STATUS_ORDER.get(status, 1),
        f"status {STATUS_CLASSES.get(status, 'inconclusive')}",
        f"{status}: {claim}",
    )


def _value_attribute(value: float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ' data-value=""'
    if isinstance(value, float) and math.isinf(value):
        return f' data-value="{"Infinity" if value > 0 else "-Infinity"}"'
    return f' data-value="{escape(value)}"'


def sortable_table(table_id: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """A table whose headers sort it on click (assets/site.js); each cell sorts by its ``value``."""
    header = "".join(f'<th scope="col"><button type="button">{escape(c)}</button></th>' for c in columns)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            attributes = _value_attribute(cell.value)
            if cell.css:
                attributes += f' class="{escape(cell.css)}"'
            if cell.title:
                attributes += f' title="{escape(cell.title)}"'
            cells.append(f"<td{attributes}>{cell.html}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="table-wrap"><table class="sortable" id="{escape(table_id)}"><thead><tr>{header}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def page(title: str, body: str, *, root: str) -> str:
    """A complete page; ``root`` is the relative path from its folder to the site root ('' at the root)."""
    prefix = f"{root}/" if root else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{prefix}assets/style.css">
<script src="{prefix}assets/site.js"></script>
</head><body>
<header><nav><a href="{prefix}index.html">Leaderboard</a><a href="{prefix}reports.html">Reports</a>
<a href="{prefix}history.html">History</a></nav></header>
<main>
<h1>{escape(title)}</h1>
{body}
</main></body></html>
"""
