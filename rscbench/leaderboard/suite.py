"""The frozen leaderboard suite: the same experiments for every entry, and the version of its scores.

The shipped suite ``leaderboard`` (rscbench/suites/leaderboard.toml) is an ordinary suite that
leaves the entry's model fields (ENTRY_MODEL_FIELDS) at their defaults; an entry's tasks are the
suite's tasks with the entry's model fields put in. Its version is ``<suite name>-<12 hex digits>``,
a hash of every experiment's expanded tasks, the measurement version, the verdicts' version
(rscbench.analysis.verdicts.VERDICTS_VERSION) and SCORING_VERSION: any change to the suite, to the
measurement code's version, to a verdict's definition or to the scoring rules is a new version, and
scores of different versions are never mixed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from rscbench.analysis.verdicts import VERDICTS_VERSION
from rscbench.errors import InvalidArgumentError
from rscbench.leaderboard.entries import ENTRY_MODEL_FIELDS, Entry
from rscbench.run.specs import MEASUREMENT_VERSION, ModelSpec, TaskSpec
from rscbench.run.suites import Suite, load_suite

__all__ = ["LEADERBOARD_SUITE", "SCORING_VERSION", "LeaderboardSuite", "load_leaderboard_suite"]

LEADERBOARD_SUITE = "leaderboard"
SCORING_VERSION = "2"
"""Bump when the scores or the ranking rule (rscbench.leaderboard.scoring) change."""


@dataclass(frozen=True)
class LeaderboardSuite:
    """The suite every entry runs: ``argument`` (shipped name or .toml path), the loaded reference
    ``suite`` (model fields at their defaults) and its ``version``."""

    argument: str
    suite: Suite
    version: str

    def entry_tasks(self, entry: Entry) -> list[TaskSpec]:
        """The suite's tasks for ``entry``: each reference task with the entry's model fields put in."""
        return load_suite(self.argument, dict(entry.model)).tasks()


def load_leaderboard_suite(argument: str = LEADERBOARD_SUITE) -> LeaderboardSuite:
    """Load the leaderboard suite (a shipped name or a .toml path), check it leaves the model to entries,
    and compute its version.

    Raises InvalidArgumentError when a task sets one of ENTRY_MODEL_FIELDS to other than its default.
    """
    suite = load_suite(argument)
    defaults = ModelSpec()
    for task in suite.tasks():
        for name in ENTRY_MODEL_FIELDS:
            if getattr(task.model, name) != getattr(defaults, name):
                raise InvalidArgumentError(
                    f"{suite.source}: model.{name}",
                    getattr(task.model, name),
                    f"unset ({getattr(defaults, name)!r}): in a leaderboard suite each entry chooses it",
                )
    return LeaderboardSuite(argument, suite, _version(suite))


def _version(suite: Suite) -> str:
    """``<suite name>-<12 hex>``: sha256 of the expanded experiments and the three versions."""
    content = {
        "experiments": [
            {"name": experiment.name, "tasks": [task.canonical() for task in experiment.tasks]}
            for experiment in suite.experiments
        ],
        "measurement_version": MEASUREMENT_VERSION,
        "verdicts_version": VERDICTS_VERSION,
        "scoring_version": SCORING_VERSION,
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f"{suite.name}-{digest[:12]}"
