"""One escaper per output format, shared by the reports and the leaderboard's tables: text into LaTeX
(a table cell), text into Markdown (a table cell or a heading), and the cells of a CSV file (a cell
a spreadsheet would run as a formula is neutralized)."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["csv_safe", "csv_text", "latex_escape", "markdown_cell", "markdown_table"]

_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "^": r"\^{}",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\~{}",
    "|": r"$|$",
    "<": r"$<$",
    ">": r"$>$",
    "✓": r"$\checkmark$",
    "✗": r"$\times$",
    "\r": " ",
    "\n": " ",
}


def latex_escape(text: str) -> str:
    """``text`` safe inside a LaTeX table cell: every special character of LaTeX (``\\ & % _ # ^ $ { } ~``),
    ``|``, ``<`` and ``>`` (math-mode glyphs) and the leaderboard's marks ✓ ✗ (amssymb) replaced, line
    breaks (a blank line would end the table's paragraph) turned into spaces."""
    return "".join(_LATEX.get(char, char) for char in str(text))


_MARKDOWN = re.compile(r"[\\`*<>|~#&]|\](?=[(\[])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
"""Characters that would start Markdown (GitHub flavour) markup inside a line: code, emphasis,
raw HTML and entities, table pipes, strikethrough, a heading's closing hashes; a ``]`` only where
it would close a link or an image (before ``(`` or ``[``: ``[units]`` stays as it is); an
underscore only where it can emphasize (not inside a word such as g_bar)."""


def markdown_cell(text: object) -> str:
    """``text`` as literal inline Markdown, for a table cell or a heading: every character that could
    start markup backslash-escaped (CommonMark escapes any ASCII punctuation), line breaks turned into
    spaces."""
    flat = str(text).replace("\r", " ").replace("\n", " ")
    return _MARKDOWN.sub(lambda match: "\\" + match.group(0), flat)


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table of ``rows`` under ``header``, every cell escaped with :func:`markdown_cell`."""
    lines = [
        "| " + " | ".join(markdown_cell(cell) for cell in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: object) -> object:
    """A CSV cell a spreadsheet cannot run: text that starts with ``= + - @`` (or a tab or carriage
    return) gets a leading apostrophe, unless it is a plain number (``-0.5``) or that one character
    alone; every other value is returned as it is."""
    if not isinstance(value, str) or len(value) < 2 or not value.startswith(_FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` for a CSV export: every text cell passed through :func:`csv_text` (numeric
    columns are left alone). Every CSV rscbench writes (results.csv, verdicts.csv, leaderboard.csv)
    goes through it."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(csv_text)
    safe.columns = [csv_text(str(column)) for column in safe.columns]
    return safe
