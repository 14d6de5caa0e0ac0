"""The site's front page: the leaderboard table (sortable), what each check claims, the ranking rule,
the downloads and how to submit an entry."""

from __future__ import annotations

import math
import re
from typing import Any

from rscbench.leaderboard.scoring import CHECKS
from rscbench.leaderboard.tables import DISPLAY_COLUMNS, MARKS_LEGEND, STATUS_MARKS, display_rows
from rscbench.site.html import Cell, escape, page, sortable_table, status_cell

__all__ = ["LEADERBOARD_DOWNLOADS", "leaderboard_page"]

LEADERBOARD_DOWNLOADS = {
    "leaderboard.csv": "every score as a number (CSV)",
    "leaderboard.md": "the table (Markdown)",
    "leaderboard.tex": "the table (LaTeX, booktabs)",
    "scores.json": "every score with its evidence (JSON)",
}
SUBMIT = """<h2>Submit an entry</h2>
<p>Write a factory <code>f(width, depth, *, in_dim, generator) -&gt; torch.nn.Module</code>
(one scalar output per input row, every random draw of its initialization from <code>generator</code>)
in a module importable by Python, then an entry file:</p>
<pre><code>name = "my-model"
author = "Your Name"
description = "What the model is."

[model]
arch = "my_package.my_module:my_factory"
</code></pre>
<p>Run <code>rscbench leaderboard add my-model.toml</code> (it checks the file and the factory; exit 2
with one line naming what is wrong), then <code>rscbench leaderboard build</code> (runs only what is
missing, resumable) and <code>rscbench publish --out site</code>.</p>"""


def _breakable(text: str) -> str:
    """``text`` escaped, with line-break opportunities after a dot or colon before a letter (long factory
    references such as package.module:function; numbers like 0.5 stay whole)."""
    return re.sub(r"([.:])(?=[A-Za-z_])", r"\1<wbr>", escape(text))


def _number_cell(text: str, value: Any) -> Cell:
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    return Cell(escape(text), number, "num")


def _steps_value(entry: dict[str, Any]) -> float:
    steps = entry["median_steps_to_target"]
    if steps is not None:
        return float(steps)
    return math.inf if entry["gd_runs"] else math.nan


def _entry_details(entry: dict[str, Any]) -> str:
    covered = {True: "yes", False: "no"}.get(entry["covered_by_theory"], "n/a")
    progress = "yes" if entry["certified_without_progress"] else "no"
    return (
        f"<details><summary>{escape(entry['name'])}</summary><p>{escape(entry['description'])}</p>"
        f"<p class='meta'>by {escape(entry['author'])}; model {escape(entry['model_label'])}; "
        f"theory covers its activation: {covered}; GD runs {entry['gd_runs']} (reached the target "
        f"{entry['gd_reached']}, diverged {entry['gd_diverged']}); RSC certified but no convergence at "
        f"the claimed rate (V7): {progress}; tasks {entry['tasks']} ({entry['tasks_missing']} missing, "
        f"{entry['tasks_failed']} failed), {entry['compute_seconds']:.0f} s of compute.</p></details>"
    )


def leaderboard_page(scores: dict[str, Any] | None) -> str:
    """The front page's HTML from a scores.json document (None: no leaderboard built yet)."""
    if scores is None:
        body = "<p>No leaderboard is built yet: run <code>rscbench leaderboard build</code>.</p>" + SUBMIT
        return page("rscbench leaderboard", body, root="")
    entries = scores["entries"]
    rows = []
    for entry, shown in zip(entries, display_rows(entries), strict=True):
        cells = [
            _number_cell(shown["rank"], entry["rank"]),
            Cell(
                f"<strong>{escape(entry['name'])}</strong>",
                entry["name"],
                "name",
                f"{entry['description']} (by {entry['author']})",
            ),
            Cell(_breakable(shown["model"]), shown["model"]),
        ]
        cells += [
            status_cell(
                entry["checks"][check], STATUS_MARKS.get(entry["checks"][check], "?"), scores["checks"][check]
            )
            for check in CHECKS
        ]
        cells += [
            _number_cell(shown["Hessian exponent b [95% CI]"], entry["hessian_exponent"]),
            _number_cell(shown["RSC-certified fraction"], entry["rsc_certified_fraction"]),
            _number_cell(shown["median steps to target"], _steps_value(entry)),
            _number_cell(shown["geometric rate"], entry["geometric_rate"]),
            _number_cell(shown["NTK drift"], entry["ntk_drift"]),
        ]
        rows.append(cells)
    git = scores.get("git") or {}
    claims = "".join(
        f"<li><strong>{escape(check)}</strong>: {escape(claim)}</li>"
        for check, claim in scores["checks"].items()
    )
    rule = "".join(f"<li>{escape(line)}</li>" for line in scores["ranking_rule"])
    downloads = "".join(
        f'<li><a href="downloads/{escape(name)}" download>{escape(name)}</a>: {escape(label)}</li>'
        for name, label in LEADERBOARD_DOWNLOADS.items()
    )
    details = "".join(_entry_details(entry) for entry in entries)
    body = f"""<p>Which architectures and initializations are in the regime where the RSC theory
(Banerjee et al., ICLR 2023) says gradient descent converges fast? Every entry runs the same frozen suite
<strong>{escape(scores["suite"]["name"])}</strong> ({scores["suite"]["tasks_per_entry"]} tasks per entry:
{escape(scores["suite"]["description"] or "see its file")}) and is scored from its own measurements.</p>
<p class="meta">Leaderboard version <strong id="leaderboard-version">{escape(scores["version"])}</strong>
(a hash of the suite, the measurement version, the verdict definitions and the scoring rules: scores
of other versions are never mixed in); built {escape(scores["built_at"])}
by rscbench {escape(scores["rscbench_version"])} at commit
{escape((git.get("commit") or "unknown")[:8])}{" (dirty)" if git.get("dirty") else ""}.
Click a column header to sort; {escape(MARKS_LEGEND)} (hover a mark for its claim).</p>
{sortable_table("leaderboard", DISPLAY_COLUMNS, rows)}
<h2>Ranking rule</h2>
<ol>{rule}</ol>
<h2>What each check claims (docs/verdicts.md)</h2>
<ul>{claims}</ul>
<p class="meta">Hessian exponent: b in max-probe ||Hessian of f|| ~ m^b over the width sweep at
init, 95% cluster-bootstrap CI over seeds. RSC-certified fraction: GD checkpoints after t = 0 with a
certified positive lower bound, at the largest GD width. Median steps to target: over every GD run, a
run that did not reach 1e-3 of its initial loss counting as infinitely many. Geometric rate: the
per-step loss factor fitted to log L_t (median over runs). NTK drift: ||K_T - K_0||_F / ||K_0||_F
(median over runs).</p>
<h2>Entries</h2>
{details}
<h2>Downloads</h2>
<ul class="downloads">{downloads}</ul>
{SUBMIT}"""
    return page("rscbench leaderboard", body, root="")
