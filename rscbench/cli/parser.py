"""The argument parser of the `rscbench` command: every subcommand and flag, each with a help line
saying what it means and in what unit, and choices read from the registries the library validates
against. A flag's bad value ends in one line and exit code 2."""

from __future__ import annotations

import argparse
from typing import Any

from rscbench import __version__
from rscbench.advise import DEFAULT_STORE
from rscbench.advise.query import DEFAULT_BUDGET_SECONDS, DEFAULT_MAX_WIDTH, DEFAULT_MIN_WIDTH
from rscbench.cli.codes import EXIT_BAD_INPUT, LISTABLE, REPORT_FORMATS
from rscbench.errors import InvalidArgumentError
from rscbench.leaderboard.suite import LEADERBOARD_SUITE
from rscbench.models.activations import ACTIVATIONS
from rscbench.run.field_help import FIELD_HELP
from rscbench.run.runner import EXECUTORS
from rscbench.run.specs import QUANTITY_CHOICES, TaskSpec, flat_values
from rscbench.run.suites import shipped_suites
from rscbench.run.threads import available_cpus
from rscbench.validation import MAX_BYTES, MAX_SECONDS, require_number
from rscbench.vocabulary import DEVICES, DTYPES, LOSS_NAMES, quantity_code

__all__ = ["build_parser", "byte_size", "positive_int", "positive_seconds", "quantity", "relative_change"]

CHOICES = {
    "activation": list(ACTIVATIONS),
    "loss": list(LOSS_NAMES),
    "device": list(DEVICES),
    "dtype": list(DTYPES),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit code 2, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (workers, threads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed an integer >= 1")
    return value


def _number(text: str, unit: str, **bounds: float) -> float:
    """A flag's number within ``bounds`` (rscbench.validation.require_number), or argparse's error."""
    try:
        return require_number("value", float(text), **bounds)
    except ValueError as error:
        allowed = error.allowed if isinstance(error, InvalidArgumentError) else "a finite number"
        raise argparse.ArgumentTypeError(f"{text!r}: allowed {allowed} ({unit})") from None


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds > 0 and at most MAX_SECONDS (timeouts)."""
    return _number(text, "seconds", greater_than=0, at_most=MAX_SECONDS)


def relative_change(text: str) -> float:
    """argparse type: a finite relative change >= 0 (compare's threshold)."""
    return _number(text, "a fraction", at_least=0)


def quantity(text: str) -> str:
    """argparse type: a quantity by code or name (``Q1``, ``predictor_hessian``), as its code."""
    code = quantity_code(text)
    if code is None:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed {QUANTITY_CHOICES}")
    return code


def _field_type(name: str, default: Any) -> Any:
    if name in ("n", "d") or isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return str


def _workers_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="tasks run at once, each in its own process (count; default 1: in this process)",
    )


def _task_timeout_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--timeout",
        type=positive_seconds,
        default=1800.0,
        help="wall-clock limit per task (seconds, default 1800); a task past it is stored as timeout",
    )


def _threads_flag(command: argparse.ArgumentParser, per: str) -> None:
    command.add_argument(
        "--threads",
        type=positive_int,
        help=f"torch CPU threads per task (count; default: the {available_cpus()} CPUs this process may "
        f"use{per}); the count is stored in each record",
    )


def _run_parser(commands: Any) -> None:
    run = commands.add_parser("run", help="run a suite (resumable), print its results and verdicts")
    run.add_argument(
        "suite", help="a shipped suite (" + ", ".join(shipped_suites()) + ") or a suite .toml file"
    )
    run.add_argument("--device", choices=DEVICES, help="run every task on this device instead of the suite's")
    run.add_argument(
        "--dtype", choices=DTYPES, help="run every task in this precision instead of the suite's"
    )
    run.add_argument(
        "--experiment",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this experiment of the suite (repeatable; names as `rscbench list tasks SUITE` shows)",
    )
    run.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="FIELD=VALUE[,VALUE]",
        help="run only the tasks whose task field FIELD is one of the VALUEs (repeatable: every --select "
        "must hold; e.g. --select width=32,64 --select activation=tanh)",
    )
    _workers_flag(run)
    _threads_flag(run, " divided among --workers")
    run.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this machine (default); dask: a Dask cluster at --scheduler",
    )
    run.add_argument(
        "--scheduler", help="the Dask scheduler's address (e.g. tcp://host:8786), with --executor dask"
    )
    run.add_argument(
        "--out",
        help="the run directory: its store and one report folder per completed run "
        "(default runs/<suite>/, git-ignored; publish with `rscbench report DIR --publish-to reports/`)",
    )
    again = run.add_mutually_exclusive_group()
    again.add_argument("--fresh", action="store_true", help="delete the run directory's store first")
    again.add_argument(
        "--retry-failed",
        action="store_true",
        help="run again the tasks stored as failed or timed out (the others stay as stored)",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a verdict expected to hold (V1-V5) is not supported",
    )
    _task_timeout_flag(run)
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="list the tasks with their estimated time and memory (any device, present or not); run nothing",
    )
    run.add_argument(
        "--memory-budget",
        type=byte_size,
        help="memory each task may use (bytes, or with a unit: 8GiB, 512MiB; default: what the device has "
        "free, shared among --workers); a task whose estimate exceeds it is refused before the run starts",
    )


def _measure_parser(commands: Any) -> None:
    measure = commands.add_parser(
        "measure", help="measure one task (every task field is a flag); its record as JSON on stdout"
    )
    for name, value in flat_values(TaskSpec()).items():
        flags = [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])
        meaning = FIELD_HELP[name].replace("%", "%%")  # argparse formats help with %
        if name == "quantities":
            measure.add_argument(
                *flags,
                nargs="+",
                type=quantity,
                default=list(value),
                metavar="Q",
                help=f"{meaning} (default: every one measured at a point; Q9 needs --gd-steps > 0)",
            )
        elif isinstance(value, bool):
            measure.add_argument(
                *flags,
                action=argparse.BooleanOptionalAction,
                default=value,
                help=f"{meaning} (default {value})",
            )
        else:
            shown = "the dataset's" if value is None else value
            measure.add_argument(
                *flags,
                type=_field_type(name, value),
                choices=CHOICES.get(name),
                default=value,
                help=f"{meaning} (default {shown})",
            )
    measure.add_argument(
        "--timeout", type=positive_seconds, default=None, help="wall-clock limit (seconds; default: none)"
    )
    _threads_flag(measure, "")


def _record_parsers(commands: Any) -> None:
    run_task = commands.add_parser(
        "run-task", help="run one task of a suite into a record file (what a cluster array job calls)"
    )
    run_task.add_argument("suite", help="a shipped suite or a suite .toml file")
    run_task.add_argument("task_id", help="the task's id (one line of `rscbench list tasks SUITE --ids`)")
    run_task.add_argument(
        "--record-dir",
        required=True,
        metavar="DIR",
        help="folder of the record file DIR/<task_id>.json (created; a task with its file there is skipped)",
    )
    _task_timeout_flag(run_task)
    _threads_flag(run_task, "")

    ingest = commands.add_parser("ingest", help="read record files into a store (by task id, no duplicates)")
    ingest.add_argument("folders", nargs="+", metavar="DIR", help="folders of record files from `run-task`")
    ingest.add_argument(
        "--store",
        required=True,
        help="a run directory (its store.sqlite, created if needed) or a .sqlite file",
    )

    merge = commands.add_parser(
        "merge", help="merge stores from several machines (by task id, no duplicates)"
    )
    merge.add_argument("stores", nargs="+", metavar="STORE", help="run directories or .sqlite store files")
    merge.add_argument(
        "--into",
        required=True,
        help="the run directory (its store.sqlite, created if needed) or .sqlite file",
    )


def _inspect_parsers(commands: Any) -> None:
    listing = commands.add_parser(
        "list", help="list suites, a suite's tasks, datasets, activations, losses, metrics"
    )
    listing.add_argument("what", choices=LISTABLE, help="what to list")
    listing.add_argument("suite", nargs="?", help="the suite, with `list tasks`")
    listing.add_argument(
        "--ids", action="store_true", help="with `list tasks`: only the task ids, one a line (for array jobs)"
    )

    report = commands.add_parser(
        "report", help="render a run directory's report from its store (writes nothing unless asked)"
    )
    report.add_argument("run_dir", help="a run directory (holding store.sqlite and at least one report)")
    report.add_argument(
        "--format",
        choices=list(REPORT_FORMATS),
        default="md",
        help="which file to print: md (default), html, json, csv (results) or latex (verdicts)",
    )
    writing = report.add_mutually_exclusive_group()
    writing.add_argument(
        "--write", action="store_true", help="write a new report folder into RUN_DIR and print its path"
    )
    writing.add_argument(
        "--publish-to",
        metavar="DIR",
        help="write a new report folder under DIR/<suite>/ (e.g. reports/) and update DIR/index.json",
    )

    compare = commands.add_parser("compare", help="what changed between two reports; exit 1 on a regression")
    compare.add_argument("report_a", help="a report folder (or its report.json): the baseline")
    compare.add_argument("report_b", help="a report folder (or its report.json): the candidate")
    compare.add_argument(
        "--threshold",
        type=relative_change,
        default=0.05,
        help="smallest relative change |b - a| / |a| listed (a fraction, default 0.05)",
    )

    replay = commands.add_parser(
        "replay", help="rerun one stored task from its stored spec; print both; exit 1 if they differ"
    )
    replay.add_argument("task_id", help="the task's id (as in results.csv or `rscbench list tasks`)")
    replay.add_argument(
        "--store", help="a run directory or its store.sqlite (default: every runs/*/ and reports/*/ store)"
    )


def _advise_parser(commands: Any) -> None:
    advise = commands.add_parser(
        "advise",
        help="from which width the RSC certificate holds at init for one model family: m*, the observed "
        "crossing, the theorem's threshold, c_H, infinite-width constants, the regime (runs what is missing)",
    )
    advise.add_argument("--activation", required=True, help="the activation (`rscbench list activations`)")
    advise.add_argument("--depth", required=True, type=positive_int, help="hidden layers L (an integer >= 1)")
    advise.add_argument("--sigma1", required=True, type=float, help="the per-layer init gain (a number > 0)")
    advise.add_argument(
        "--dataset", default="sphere", help="the dataset (`rscbench list datasets`; default sphere)"
    )
    advise.add_argument("--n", type=positive_int, help="training points (default: the dataset's)")
    advise.add_argument(
        "--d",
        type=positive_int,
        help="input dimension, for datasets that let it be chosen (default: the dataset's)",
    )
    advise.add_argument(
        "--kappa", type=float, default=0.5, help="the cone's cosine kappa, in (0, 1] (default 0.5)"
    )
    advise.add_argument("--loss", default="square", help="the loss (only square: default square)")
    advise.add_argument(
        "--store",
        default=str(DEFAULT_STORE),
        metavar="DIR",
        help=f"the run directory whose store holds the sweep's tasks (default {DEFAULT_STORE}/; a suite run "
        "into the same directory shares tasks with it)",
    )
    advise.add_argument(
        "--min-width",
        type=positive_int,
        default=DEFAULT_MIN_WIDTH,
        help=f"the first width (neurons, default {DEFAULT_MIN_WIDTH})",
    )
    advise.add_argument(
        "--max-width",
        type=positive_int,
        default=DEFAULT_MAX_WIDTH,
        help=f"the largest width the sweep may measure (neurons, default {DEFAULT_MAX_WIDTH})",
    )
    advise.add_argument(
        "--budget-seconds",
        type=positive_seconds,
        default=DEFAULT_BUDGET_SECONDS,
        help="compute time the sweep may take: its tasks' measured seconds (the widths <= 1024 always run) "
        f"plus the estimate of the next larger width (seconds, default {DEFAULT_BUDGET_SECONDS:g})",
    )
    _threads_flag(advise, "")
    advise.add_argument("--json", action="store_true", help="print the advice as JSON")


def _leaderboard_parsers(commands: Any) -> None:
    leaderboard = commands.add_parser(
        "leaderboard", help="show the leaderboard, add an entry, or build (run what is missing and score)"
    )
    leaderboard.add_argument(
        "action",
        nargs="?",
        choices=("show", "add", "build"),
        default="show",
        help="what to do (default show)",
    )
    leaderboard.add_argument("entry", nargs="?", help="the entry .toml file, with `add`")
    leaderboard.add_argument(
        "--dir", default="leaderboard", help="the leaderboard folder (default leaderboard/)"
    )
    leaderboard.add_argument(
        "--suite", default=LEADERBOARD_SUITE, help="the leaderboard suite (default leaderboard)"
    )
    _workers_flag(leaderboard)
    _task_timeout_flag(leaderboard)

    publish = commands.add_parser(
        "publish", help="write the static results site (works from disk, no network)"
    )
    publish.add_argument("--out", default="site", help="output folder (default site/)")
    publish.add_argument(
        "--reports", default="reports", help="folder of published reports (default reports/)"
    )
    publish.add_argument(
        "--leaderboard", default="leaderboard", help="built leaderboard folder (default leaderboard/)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; choices come from the registries the library validates against."""
    parser = _Parser(
        prog="rscbench", description="Measure the RSC theory of deep networks with smooth activations."
    )
    parser.add_argument("--version", action="version", version=f"rscbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _run_parser(commands)
    _record_parsers(commands)
    _inspect_parsers(commands)
    _measure_parser(commands)
    _advise_parser(commands)
    _leaderboard_parsers(commands)
    return parser


_BYTE_UNITS = {"": 1, "B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def byte_size(text: str) -> int:
    """argparse type: a size in bytes written as an integer with an optional unit (KiB, MiB, GiB, TiB)."""
    number = text.rstrip("BbIiKkMmGgTt")
    unit = text[len(number) :].upper()
    try:
        value = float(number) * _BYTE_UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 8GiB, 512MiB or 1000000") from None
    if not 1 <= value <= MAX_BYTES:  # NaN fails both
        raise argparse.ArgumentTypeError(f"{text!r}: allowed a size from 1 byte to 1 EiB ({MAX_BYTES} bytes)")
    return int(value)
