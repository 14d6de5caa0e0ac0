"""Suites: named lists of experiments in TOML, each a grid over some task fields with the rest fixed.

A suite file has ``name``, ``description``, an optional ``[defaults]`` table of flat task fields
(rscbench.run.specs.flat_fields) and ``[[experiment]]`` tables with a ``name``, a ``grid`` (field ->
list of values; the tasks are their product) and ``fixed`` fields. A list in ``defaults`` (such as
``seed = [0, 1, 2]``) is a grid axis of every experiment. ``quantities`` is a list-valued field and
is never expanded. Shipped suites live in rscbench/suites/; a user may pass any file of this form.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rscbench.errors import InvalidArgumentError
from rscbench.run.specs import TaskSpec, flat_fields, flat_values, task_from_flat
from rscbench.validation import read_text

__all__ = [
    "Experiment",
    "Selection",
    "Suite",
    "grid_axes",
    "load_suite",
    "parse_selection",
    "shipped_suites",
    "task_labels",
    "task_order",
]

LIST_FIELDS = ("quantities",)
SUITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a suite's name may be: it names its run directory, so never a path."""


@dataclass(frozen=True)
class Experiment:
    """One experiment of a suite, its expanded tasks in grid order, and its grid ``axes`` as the suite
    file lists them (its own grid first, then list-valued defaults such as the seed)."""

    name: str
    tasks: tuple[TaskSpec, ...]
    axes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    """A named list of experiments; ``tasks()`` gives every task once, in a stable order."""

    name: str
    description: str
    experiments: tuple[Experiment, ...]
    source: str

    def tasks(self) -> list[TaskSpec]:
        """All tasks of all experiments, duplicates (same task id) kept once, first occurrence first."""
        seen: dict[str, TaskSpec] = {}
        for experiment in self.experiments:
            for task in experiment.tasks:
                seen.setdefault(task.task_id, task)
        return list(seen.values())

    def experiment_of(self) -> dict[str, str]:
        """task id -> name of the first experiment that holds it."""
        names: dict[str, str] = {}
        for experiment in self.experiments:
            for task in experiment.tasks:
                names.setdefault(task.task_id, experiment.name)
        return names

    def groups(self) -> dict[str, list[TaskSpec]]:
        """experiment name -> its tasks (each task under the first experiment that holds it)."""
        owner = self.experiment_of()
        return {
            experiment.name: [task for task in experiment.tasks if owner[task.task_id] == experiment.name]
            for experiment in self.experiments
        }

    def axes(self) -> dict[str, tuple[str, ...]]:
        """experiment name -> its grid axes in the suite file's order."""
        return {experiment.name: experiment.axes for experiment in self.experiments}


@dataclass(frozen=True)
class Selection:
    """Part of a suite to run (``rscbench run --experiment NAME --select FIELD=VALUE[,VALUE]``):
    the ``experiments`` named (empty: every one) and, for each field of ``fields`` (flat task field
    -> values as text), only the tasks whose value is one of those. Empty: the whole suite."""

    experiments: tuple[str, ...] = ()
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.experiments or self.fields)

    def __str__(self) -> str:
        parts = [f"experiment={','.join(self.experiments)}"] if self.experiments else []
        return " ".join(parts + [f"{name}={','.join(values)}" for name, values in self.fields])

    def tasks(self, suite: Suite) -> list[TaskSpec]:
        """The tasks of ``suite`` this selection keeps, in suite order.

        Raises InvalidArgumentError naming the bad part and what is allowed: an experiment the
        suite lacks, a field that is not a task field, a value the field never takes in the chosen
        experiments, or a selection that no task meets.
        """
        names = [experiment.name for experiment in suite.experiments]
        for name in self.experiments:
            if name not in names:
                raise InvalidArgumentError(
                    "--experiment", name, f"an experiment of {suite.name}: " + ", ".join(names)
                )
        known = [name for name in flat_fields() if name not in LIST_FIELDS]
        for name, _ in self.fields:
            if name not in known:
                raise InvalidArgumentError("--select", name, "a task field: " + ", ".join(known))
        owner = suite.experiment_of()
        chosen = [t for t in suite.tasks() if not self.experiments or owner[t.task_id] in self.experiments]
        kept = chosen
        for name, texts in self.fields:
            allowed = sorted(
                {_text(flat_values(t)[name]): flat_values(t)[name] for t in chosen}.items(),
                key=lambda pair: _sortable((pair[1],)),
            )
            for text in texts:
                if not any(_matches(text, value) for _, value in allowed):
                    where = f"the chosen experiments of {suite.name}" if self.experiments else suite.name
                    raise InvalidArgumentError(
                        f"--select {name}",
                        text,
                        f"a value {name} takes in {where}: " + ", ".join(shown for shown, _ in allowed),
                    )
            kept = [t for t in kept if any(_matches(text, flat_values(t)[name]) for text in texts)]
        if not kept:
            raise InvalidArgumentError("selection", str(self), f"one that some task of {suite.name} meets")
        return kept


def _matches(text: str, value: Any) -> bool:
    """Whether ``text`` (as typed on the command line) names the task field value ``value``."""
    if isinstance(value, bool) or value is None:
        return text.lower() == str(value).lower()
    if isinstance(value, int | float):
        try:
            return float(text) == value
        except ValueError:
            return False
    return text == _text(value)


def parse_selection(selects: Sequence[str] = (), experiments: Sequence[str] = ()) -> Selection:
    """The :class:`Selection` of ``--select FIELD=VALUE[,VALUE]`` texts (a field named twice keeps
    the values of both) and ``--experiment`` names. Raises InvalidArgumentError for a text not of
    that form; :meth:`Selection.tasks` refuses a field that is not a task field (``quantities``, a
    list, is never selected)."""
    fields: dict[str, list[str]] = {}
    for text in selects:
        name, _, values = text.partition("=")
        name = name.strip()
        picked = [value.strip() for value in values.split(",") if value.strip()]
        if not name or not picked:
            raise InvalidArgumentError("--select", text, "FIELD=VALUE[,VALUE], e.g. width=32,64")
        values_of = fields.setdefault(name, [])
        values_of += [value for value in dict.fromkeys(picked) if value not in values_of]
    return Selection(
        tuple(dict.fromkeys(experiments)), tuple((name, tuple(values)) for name, values in fields.items())
    )


def grid_axes(tasks: Sequence[TaskSpec], preferred: Sequence[str] = ()) -> list[str]:
    """The flat fields whose values differ among ``tasks`` (an experiment's grid): those of
    ``preferred`` first in its order, then the others in spec order, the seed last."""
    rows = [flat_values(task) for task in tasks]
    varying = [name for name in flat_fields() if len({repr(row[name]) for row in rows}) > 1]
    ordered = [name for name in preferred if name in varying] + [n for n in varying if n not in preferred]
    return sorted(ordered, key=lambda name: name == "seed")


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def task_order(
    groups: Mapping[str, Sequence[TaskSpec]], axes: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """Task ids in experiment order, and within one experiment by its grid values (:func:`grid_axes`,
    ``axes`` giving each experiment's preferred axis order)."""
    order = []
    for name, tasks in groups.items():
        axes_of = grid_axes(tasks, (axes or {}).get(name, ()))
        keyed = [(tuple(flat_values(task)[axis] for axis in axes_of), task.task_id) for task in tasks]
        order += [task_id for _, task_id in sorted(keyed, key=lambda pair: _sortable(pair[0]))]
    return order


def _sortable(values: tuple) -> tuple:
    """A key that sorts numbers numerically and anything else (None, text) after them as text."""
    return tuple(
        (0, value, "")
        if isinstance(value, int | float) and not isinstance(value, bool)
        else (1, 0, str(value))
        for value in values
    )


def task_labels(
    groups: Mapping[str, Sequence[TaskSpec]], axes: Mapping[str, Sequence[str]] | None = None
) -> dict[str, str]:
    """task id -> ``"<experiment> field=value ..."``: the task named by its experiment and grid values
    (axes as in :func:`task_order`)."""
    labels: dict[str, str] = {}
    for name, tasks in groups.items():
        axes_of = grid_axes(tasks, (axes or {}).get(name, ()))
        for task in tasks:
            values = flat_values(task)
            labels.setdefault(task.task_id, " ".join([name, *(f"{a}={_text(values[a])}" for a in axes_of)]))
    return labels


def shipped_suites() -> list[str]:
    """Names of the suites shipped with rscbench."""
    folder = resources.files("rscbench") / "suites"
    return sorted(
        entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml")
    )


def load_suite(name_or_path: str, overrides: dict[str, Any] | None = None) -> Suite:
    """Load a shipped suite by name or a suite TOML file by path, and expand it into tasks.

    ``overrides`` (flat task fields, e.g. device and dtype from the CLI) replace those fields in
    every task. Errors (unknown suite, missing or invalid TOML, unknown or bad fields) raise
    InvalidArgumentError naming the suite field and the bad value.
    """
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise InvalidArgumentError(
                "suite", name_or_path, "a shipped suite name or an existing .toml file"
            )
        text, source = read_text(path, "suite file"), str(path)
    elif name_or_path in shipped_suites():
        text = (resources.files("rscbench") / "suites" / f"{name_or_path}.toml").read_text()
        source = f"rscbench/suites/{name_or_path}.toml"
    else:
        raise InvalidArgumentError(
            "suite", name_or_path, "one of " + ", ".join(shipped_suites()) + ", or a path to a .toml file"
        )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidArgumentError("suite file", source, f"valid TOML ({error})") from None
    return _parse(document, source, overrides or {})


def _parse(document: dict[str, Any], source: str, overrides: dict[str, Any]) -> Suite:
    allowed_top = {"name", "description", "defaults", "experiment"}
    for key in document:
        if key not in allowed_top:
            raise InvalidArgumentError(
                f"{source}: {key}", document[key], "keys " + ", ".join(sorted(allowed_top))
            )
    name = document.get("name")
    if not isinstance(name, str) or not SUITE_NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"{source}: name",
            name,
            "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(it names the run directory runs/<name>/)",
        )
    description = document.get("description", "")
    if not isinstance(description, str):
        raise InvalidArgumentError(f"{source}: description", description, "a string")
    experiments_doc = document.get("experiment")
    if not isinstance(experiments_doc, list) or not experiments_doc:
        raise InvalidArgumentError(
            f"{source}: experiment", experiments_doc, "one or more [[experiment]] tables"
        )
    defaults = _fields(document.get("defaults", {}), f"{source}: defaults")
    experiments = []
    names: set[str] = set()
    for index, table in enumerate(experiments_doc):
        where = f"{source}: experiment[{index}]"
        if not isinstance(table, dict) or set(table) - {"name", "grid", "fixed"}:
            raise InvalidArgumentError(where, table, "a table with name, grid and fixed")
        experiment_name = table.get("name", f"experiment-{index}")
        if not isinstance(experiment_name, str) or not experiment_name.strip() or experiment_name in names:
            raise InvalidArgumentError(
                f"{where}.name", experiment_name, "a non-empty string no other experiment has"
            )
        names.add(experiment_name)
        grid = _fields(table.get("grid", {}), f"{where}.grid")
        for field_name, values in grid.items():
            if field_name in LIST_FIELDS or not isinstance(values, list) or not values:
                raise InvalidArgumentError(f"{where}.grid.{field_name}", values, "a non-empty list of values")
        fixed = _fields(table.get("fixed", {}), f"{where}.fixed")
        base = defaults | fixed | overrides
        axes = {
            key: value for key, value in base.items() if isinstance(value, list) and key not in LIST_FIELDS
        }
        axes |= grid
        constant = {key: value for key, value in base.items() if key not in axes}
        keys = list(axes)
        tasks = []
        for combination in itertools.product(*(axes[key] for key in keys)):
            values = constant | dict(zip(keys, combination, strict=True))
            try:
                tasks.append(task_from_flat(values))
            except InvalidArgumentError as error:
                raise InvalidArgumentError(f"{where}: {error.argument}", error.value, error.allowed) from None
        order = tuple(grid) + tuple(key for key in keys if key not in grid)
        experiments.append(Experiment(experiment_name, tuple(tasks), order))
    return Suite(name, description, tuple(experiments), source)


def _fields(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InvalidArgumentError(where, table, "a table of task fields")
    known = flat_fields()
    for key, value in table.items():
        if key not in known:
            raise InvalidArgumentError(f"{where}.{key}", value, "task fields " + ", ".join(known))
        if isinstance(value, list) and not value and key not in LIST_FIELDS:
            raise InvalidArgumentError(
                f"{where}.{key}", value, "a value, or a non-empty list of values (a grid axis)"
            )
    return dict(table)
