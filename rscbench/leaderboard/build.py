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
from rscbench.leaderboard.scoring import CHECK_CLAIMS, RANKING_RULE, EntryScore, rank_scores, score_entry
from rscbench.leaderboard.suite import LEADERBOARD_SUITE, LeaderboardSuite, load_leaderboard_suite
from rscbench.leaderboard.tables import leaderboard_frame, leaderboard_latex, leaderboard_markdown
from rscbench.models.factories import check_factory
from rscbench.report import git_state
from rscbench.run.planning import STORE_NAME
from rscbench.run.runner import RunSummary, run_tasks
from rscbench.store import ResultStore

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

    Refuses a name already taken by another entry file. Returns the path of the stored entry.
    """
    entry = load_entry(path)
    check_entry(entry, load_leaderboard_suite(suite))
    target = Path(folder) / ENTRIES_FOLDER / f"{entry.name}.toml"
    source = Path(path).resolve()
    if target.exists() and target.resolve() != source:
        raise InvalidArgumentError("entry name", entry.name, f"a name not yet taken ({target} exists)")
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
    leaderboard_frame(entries).to_csv(folder / "leaderboard.csv", index=False)
    (folder / "leaderboard.md").write_text(leaderboard_markdown(entries))
    (folder / "leaderboard.tex").write_text(leaderboard_latex(entries))


def read_scores(folder: str | Path) -> dict:
    """The scores.json of a built leaderboard folder (as written by build_leaderboard)."""
    path = Path(folder) / SCORES_FILE
    if not path.is_file():
        raise InvalidArgumentError(
            "leaderboard",
            str(folder),
            f"a built leaderboard folder holding {SCORES_FILE} (rscbench leaderboard build)",
        )
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InvalidArgumentError("leaderboard", str(path), f"valid JSON ({error.msg})") from None
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("entries"), list)
        or "version" not in document
    ):
        raise InvalidArgumentError(
            "leaderboard", str(path), "a scores.json written by rscbench leaderboard build"
        )
    return document
