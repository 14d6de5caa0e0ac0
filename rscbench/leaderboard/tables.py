"""The leaderboard as tables: a tidy frame (CSV), Markdown (README) and LaTeX (papers).

Every function takes the entries as stored in ``scores.json`` (EntryScore.to_dict()), so the build
and the published site render the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from rscbench.analysis.verdicts import FAILS, HOLDS, NOT_MEASURED, NOT_SUPPORTED, SUPPORTED
from rscbench.leaderboard.scoring import CHECKS
from rscbench.report.escape import latex_escape, markdown_table

__all__ = [
    "DISPLAY_COLUMNS",
    "MARKS_LEGEND",
    "STATUS_MARKS",
    "display_rows",
    "leaderboard_frame",
    "leaderboard_latex",
    "leaderboard_markdown",
]

STATUS_MARKS = {SUPPORTED: "✓", NOT_SUPPORTED: "✗", HOLDS: "(✓)", FAILS: "(✗)", NOT_MEASURED: "–"}
"""Marks of a check's status in the display tables; anything else (inconclusive) shows as '?'."""
MARKS_LEGEND = (
    "✓ supported, ✗ not supported; (✓) / (✗) a control (ReLU, a user's model, sigma1 >= 1 for V2) holds / "
    "fails the same form, no evidence for or against the theory; ? inconclusive; – not measured."
)
DISPLAY_COLUMNS = (
    "rank",
    "entry",
    "model",
    *CHECKS,
    "Hessian exponent b [95% CI]",
    "RSC-certified fraction",
    "median steps to target",
    "geometric rate",
    "NTK drift",
)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _format(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if _finite(value) else "n/a"


def _steps(entry: dict[str, Any]) -> str:
    steps = entry["median_steps_to_target"]
    if _finite(steps):
        return f"{steps:g}"
    return "not reached" if entry["gd_runs"] else "n/a"


def display_rows(entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One dict of display strings per entry (keys DISPLAY_COLUMNS), in the entries' order."""
    rows = []
    for entry in entries:
        low, high = entry["hessian_ci"]
        exponent = _format(entry["hessian_exponent"])
        if _finite(low) and _finite(high):
            exponent += f" [{low:.3g}, {high:.3g}]"
        rows.append(
            {
                "rank": str(entry["rank"]),
                "entry": entry["name"],
                "model": entry["model_label"],
                **{check: STATUS_MARKS.get(entry["checks"][check], "?") for check in CHECKS},
                "Hessian exponent b [95% CI]": exponent,
                "RSC-certified fraction": _format(entry["rsc_certified_fraction"]),
                "median steps to target": _steps(entry),
                "geometric rate": _format(entry["geometric_rate"], 4),
                "NTK drift": _format(entry["ntk_drift"]),
            }
        )
    return rows


def leaderboard_frame(entries: list[dict[str, Any]]) -> pd.DataFrame:
    """One tidy row per entry with every score as a number (NaN where not measured): the CSV download."""
    rows = []
    for entry in entries:
        rows.append(
            {
                "rank": entry["rank"],
                "name": entry["name"],
                "author": entry["author"],
                "model": entry["model_label"],
                "covered_by_theory": entry["covered_by_theory"],
                **{check: entry["checks"][check] for check in CHECKS},
                "supported": entry["supported"],
                "not_supported": entry["not_supported"],
                "hessian_exponent": entry["hessian_exponent"],
                "hessian_ci_low": entry["hessian_ci"][0],
                "hessian_ci_high": entry["hessian_ci"][1],
                "gbar_exponent": entry["gbar_exponent"],
                "rsc_certified_fraction": entry["rsc_certified_fraction"],
                "rsc_ci_low": entry["rsc_ci"][0],
                "rsc_ci_high": entry["rsc_ci"][1],
                "gd_runs": entry["gd_runs"],
                "gd_reached": entry["gd_reached"],
                "gd_diverged": entry["gd_diverged"],
                "median_steps_to_target": entry["median_steps_to_target"],
                "geometric_rate": entry["geometric_rate"],
                "ntk_drift": entry["ntk_drift"],
                "certified_without_progress": entry["certified_without_progress"],
                "tasks": entry["tasks"],
                "tasks_missing": entry["tasks_missing"],
                "tasks_failed": entry["tasks_failed"],
                "compute_seconds": entry["compute_seconds"],
                "version": entry["version"],
            }
        )
    return pd.DataFrame(rows)


def leaderboard_markdown(entries: list[dict[str, Any]]) -> str:
    """The display table as Markdown (pipes in cells escaped), with the legend of the marks."""
    rows = [[row[c] for c in DISPLAY_COLUMNS] for row in display_rows(entries)]
    return markdown_table(list(DISPLAY_COLUMNS), rows) + "\n\n" + MARKS_LEGEND + "\n"


def leaderboard_latex(entries: list[dict[str, Any]]) -> str:
    """The display table as a LaTeX tabular (booktabs; the checkmark needs amssymb)."""
    rows = display_rows(entries)
    spec = "r" + "l" * 2 + "c" * len(CHECKS) + "l" * 5
    lines = [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(column) for column in DISPLAY_COLUMNS) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(latex_escape(row[c]) for c in DISPLAY_COLUMNS) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
