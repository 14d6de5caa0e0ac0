"""One escaper per output format, shared by the reports and the leaderboard's tables: text into a LaTeX
table cell, and text into a Markdown table cell."""

from __future__ import annotations

__all__ = ["latex_escape", "markdown_cell", "markdown_table"]

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
}


def latex_escape(text: str) -> str:
    """``text`` safe inside a LaTeX table cell: every special character of LaTeX (``\\ & % _ # ^ $ { } ~``),
    ``|``, ``<`` and ``>`` (math-mode glyphs) and the leaderboard's marks ✓ ✗ (amssymb) replaced."""
    return "".join(_LATEX.get(char, char) for char in str(text))


def markdown_cell(text: object) -> str:
    """``text`` safe inside a Markdown table cell: pipes escaped, line breaks turned into spaces."""
    return str(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table of ``rows`` under ``header``, every cell escaped with :func:`markdown_cell`."""
    lines = [
        "| " + " | ".join(markdown_cell(cell) for cell in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
