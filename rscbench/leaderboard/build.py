"""`rscbench leaderboard build` and `add`: run what is missing for every entry, score and rank them.

A leaderboard folder (default ``leaderboard/``) holds ``entries/*.toml`` and, once built,
``store.sqlite`` (every task's record; resumable; not committed) and the committed results:
``scores.json`` (version, ranking rule, every entry's scores), ``leaderboard.csv``,
``leaderboard.md`` and ``leaderboard.tex``. Tasks run through rscbench.run.runner into the store like
any suite's, so a killed build resumes and tasks shared between entries run once.
"""

from __future__ import annotations

import datetime
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rscbench import __version__
from rscbench.data import dataset_spec
from rscbench.errors import InvalidArgumentError
from rscbench.leaderboard.entries import Entry, load_entries, load_entry
from rscbench.leaderboard.scoring import (
    CHECK_CLAIMS,
    CHECKS,
    RANKING_RULE,
    EntryScore,
    rank_scores,
    score_entry,
)
from rscbench.leaderboard.suite import LEADERBOARD_SUITE, LeaderboardSuite, load_leaderboard_suite
from rscbench.leaderboard.tables import leaderboard_frame, leaderboard_latex, leaderboard_markdown
from rscbench.models.factories import check_factory
from rscbench.report import git_state
from rscbench.report.escape import csv_safe
from rscbench.run.planning import STORE_NAME
from rscbench.run.runner import RunSummary, run_tasks
from rscbench.store import ResultStore
from rscbench.validation import Field, check_document, read_json

__all__ = ["SCORES_FILE", "LeaderboardBuild", "add_entry", "build_leaderboard", "check_entry", "read_scores"]

SCORES_FILE = "scores.json"
ENTRIES_FOLDER = "entries"


@dataclass(frozen=True)
class LeaderboardBuild:
    """A finished build: the ranked ``scores``, the ``version``, the run's ``summary`` and where it wrote."""

    scores: list[EntryScore]
    version: str
    summary: RunSummary
    folder: Path


def check_entry(entry: Entry, suite: LeaderboardSuite) -> None:
    """Check that ``entry`` can run the suite: its tasks are valid and a factory builds a usable model.

    Raises InvalidArgumentError naming the entry and what failed (see rscbench.models.factories).
    """
    tasks = suite.entry_tasks(entry)
    if entry.is_factory:
        first = tasks[0]
        in_dim = first.data.d or dataset_spec(first.data.dataset).default_d
        try:
            check_factory(
                entry.model["arch"], in_dim=in_dim, width=first.model.width, depth=first.model.depth
            )
        except InvalidArgumentError as error:
            raise InvalidArgumentError(
                f"entry {entry.name}: {error.argument}", error.value, error.allowed
            ) from None


def add_entry(path: str | Path, folder: str | Path, *, suite: str = LEADERBOARD_SUITE) -> Path:
    """Validate the entry at ``path`` against the suite and copy it into ``folder``/entries/<name>.toml.

    Everything the file says is checked (its fields, a name not already taken by another entry
    file) before a factory's module is imported and built (check_entry). Returns the path of the
    stored entry.
    """
    entry = load_entry(path)
    target = Path(folder) / ENTRIES_FOLDER / f"{entry.name}.toml"
    source = Path(path).resolve()
    if target.exists() and target.resolve() != source:
        raise InvalidArgumentError("entry name", entry.name, f"a name not yet taken ({target} exists)")
    check_entry(entry, load_leaderboard_suite(suite))  # imports a factory's module: last
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.resolve() != source:
        shutil.copyfile(source, target)
    return target


def build_leaderboard(
    folder: str | Path,
    *,
    suite: str = LEADERBOARD_SUITE,
    workers: int = 1,
    timeout_seconds: float | None = None,
    progress_stream: TextIO | None = None,
) -> LeaderboardBuild:
    """Run every entry's missing tasks into ``folder``/store.sqlite, score and rank all entries, and
    write scores.json, leaderboard.csv, leaderboard.md and leaderboard.tex into ``folder``.

    Every entry is checked (check_entry) before anything runs. Scores use only the current suite
    version's tasks, so records of another version in the store are never mixed in.
    """
    folder = Path(folder)
    leaderboard = load_leaderboard_suite(suite)
    entries = load_entries(folder / ENTRIES_FOLDER)
    for entry in entries:
        check_entry(entry, leaderboard)
    tasks_by_entry = {entry.name: leaderboard.entry_tasks(entry) for entry in entries}
    every_task = [task for tasks in tasks_by_entry.values() for task in tasks]
    with ResultStore(folder / STORE_NAME) as store:
        summary = run_tasks(
            every_task,
            store,
            workers=workers,
            timeout_seconds=timeout_seconds,
            progress_stream=progress_stream,
        )
        frame, trajectories = store.to_frame(), store.trajectory_frame()
    scores = rank_scores(
        [
            score_entry(
                entry,
                frame,
                trajectories,
                {task.task_id for task in tasks_by_entry[entry.name]},
                leaderboard.version,
            )
            for entry in entries
        ]
    )
    _write(folder, leaderboard, scores)
    return LeaderboardBuild(scores, leaderboard.version, summary, folder)


def _write(folder: Path, leaderboard: LeaderboardSuite, scores: list[EntryScore]) -> None:
    entries = [score.to_dict() for score in scores]
    document = {
        "version": leaderboard.version,
        "suite": {
            "name": leaderboard.suite.name,
            "description": leaderboard.suite.description,
            "source": leaderboard.argument,
            "tasks_per_entry": len(leaderboard.suite.tasks()),
        },
        "rscbench_version": __version__,
        "built_at": datetime.datetime.now(datetime.UTC).isoformat(),
        "git": git_state(),
        "checks": CHECK_CLAIMS,
        "ranking_rule": list(RANKING_RULE),
        "entries": entries,
    }
    (folder / SCORES_FILE).write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    csv_safe(leaderboard_frame(entries)).to_csv(folder / "leaderboard.csv", index=False)
    (folder / "leaderboard.md").write_text(leaderboard_markdown(entries))
    (folder / "leaderboard.tex").write_text(leaderboard_latex(entries))


_NUMBER = Field((int, float, type(None)))  # None: not measured
_PAIR = Field((list,))
SCORES_FIELDS = {
    "version": Field((str,)),
    "entries": Field(
        (list,),
        items={
            "rank": Field((int,)),
            "name": Field((str,)),
            "author": Field((str,)),
            "model_label": Field((str,)),
            "covered_by_theory": Field((bool, type(None))),
            "checks": Field((dict,), fields={check: Field((str,)) for check in CHECKS}),
            "supported": Field((int,)),
            "not_supported": Field((int,)),
            "hessian_exponent": _NUMBER,
            "hessian_ci": _PAIR,
            "gbar_exponent": _NUMBER,
            "rsc_certified_fraction": _NUMBER,
            "rsc_ci": _PAIR,
            "gd_runs": Field((int,)),
            "gd_reached": Field((int,)),
            "gd_diverged": Field((int,)),
            "median_steps_to_target": _NUMBER,
            "geometric_rate": _NUMBER,
            "ntk_drift": _NUMBER,
            "certified_without_progress": Field((bool,)),
            "tasks": Field((int,)),
            "tasks_missing": Field((int,)),
            "tasks_failed": Field((int,)),
            "compute_seconds": _NUMBER,
            "version": Field((str,)),
        },
    ),
}
"""What the leaderboard's tables and page read from scores.json (EntryScore.to_dict())."""


def read_scores(folder: str | Path) -> dict:
    """The scores.json of a built leaderboard folder (as written by build_leaderboard), every field
    the tables and the page read checked (SCORES_FIELDS); errors name the file and the field."""
    path = Path(folder) / SCORES_FILE
    if not path.is_file():
        raise InvalidArgumentError(
            "leaderboard",
            str(folder),
            f"a built leaderboard folder holding {SCORES_FILE} (rscbench leaderboard build)",
        )
    document = read_json(path, "leaderboard")
    check_document(document, str(path), SCORES_FIELDS)
    for index, entry in enumerate(document["entries"]):
        for name in ("hessian_ci", "rsc_ci"):
            pair = entry[name]
            if len(pair) != 2 or not all(_NUMBER.holds(value) for value in pair):
                raise InvalidArgumentError(
                    f"{path}: entries[{index}]: {name}", str(pair), "a list of two numbers (or nulls)"
                )
    return document
