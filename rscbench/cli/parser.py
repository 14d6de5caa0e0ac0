"""The argument parser of the `rscbench` command: every subcommand and flag, with choices read from
the registries the library validates against."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from rscbench import __version__
from rscbench.cli.codes import EXIT_BAD_INPUT, LISTABLE, REPORT_FORMATS
from rscbench.leaderboard.suite import LEADERBOARD_SUITE
from rscbench.models.activations import ACTIVATIONS
from rscbench.run.runner import EXECUTORS
from rscbench.run.specs import TaskSpec, flat_fields
from rscbench.run.suites import shipped_suites
from rscbench.vocabulary import DEVICES, DTYPES, LOSS_NAMES, QUANTITIES

__all__ = ["build_parser", "byte_size"]

CHOICES = {
    "activation": list(ACTIVATIONS),
    "loss": list(LOSS_NAMES),
    "device": list(DEVICES),
    "dtype": list(DTYPES),
    "quantities": list(QUANTITIES),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit code 2, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _field_type(spec_field: dataclasses.Field) -> Any:
    text = str(spec_field.type)
    if "int" in text and "str" not in text:
        return int
    if "float" in text:
        return float
    return str


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; choices come from the registries the library validates against."""
    parser = _Parser(
        prog="rscbench", description="Measure the RSC theory of deep networks with smooth activations."
    )
    parser.add_argument("--version", action="version", version=f"rscbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run a suite (resumable) and print its results table")
    run.add_argument(
        "suite", help="a shipped suite (" + ", ".join(shipped_suites()) + ") or a suite .toml file"
    )
    run.add_argument("--device", choices=DEVICES, help="override every task's device")
    run.add_argument("--dtype", choices=DTYPES, help="override every task's dtype")
    run.add_argument("--workers", type=int, default=1, help="worker processes (default 1: in-process)")
    run.add_argument("--executor", choices=EXECUTORS, default="local")
    run.add_argument("--scheduler", help="Dask scheduler address, with --executor dask")
    run.add_argument("--out", help="run directory holding the store (default reports/<suite>/)")
    run.add_argument("--fresh", action="store_true", help="delete the run directory's store first")
    run.add_argument(
        "--strict", action="store_true", help="exit 1 when a verdict expected to hold (V1-V5) fails"
    )
    run.add_argument("--timeout", type=float, default=1800.0, help="seconds per task (default 1800)")
    run.add_argument("--dry-run", action="store_true", help="list the tasks and their sizes; run nothing")
    run.add_argument(
        "--memory-budget",
        type=byte_size,
        help="memory each task may use, e.g. 8GiB or 512MiB (default: what the device has free, "
        "shared among --workers); a task whose estimate exceeds it is refused before the run starts",
    )

    listing = commands.add_parser(
        "list", help="list suites, a suite's tasks, datasets, activations, losses, metrics"
    )
    listing.add_argument("what", choices=LISTABLE)
    listing.add_argument("suite", nargs="?", help="the suite, with `list tasks`")

    report = commands.add_parser("report", help="re-render a run directory's report from its store")
    report.add_argument("run_dir", help="a run directory (holding store.sqlite and at least one report)")
    report.add_argument(
        "--format", choices=list(REPORT_FORMATS), default="md", help="what to print (default md)"
    )

    compare = commands.add_parser("compare", help="what changed between two reports; exit 1 on a regression")
    compare.add_argument("report_a", help="a report folder (or its report.json): the baseline")
    compare.add_argument("report_b", help="a report folder (or its report.json): the candidate")
    compare.add_argument(
        "--threshold", type=float, default=0.05, help="relative change to report (default 0.05)"
    )

    replay = commands.add_parser(
        "replay", help="rerun one stored task from its stored spec; print both; exit 1 if they differ"
    )
    replay.add_argument("task_id", help="the task's id (as in results.csv or `rscbench list tasks`)")
    replay.add_argument(
        "--store", help="a run directory or its store.sqlite (default: every reports/*/store.sqlite)"
    )

    measure = commands.add_parser(
        "measure", help="measure one task (every task field is a flag); JSON on stdout"
    )
    defaults = TaskSpec()
    for name, (section, spec_field) in flat_fields().items():
        default = getattr(getattr(defaults, section) if section else defaults, name)
        flags = [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])
        if name == "quantities":
            measure.add_argument(*flags, nargs="+", choices=CHOICES[name], default=list(default))
        elif isinstance(default, bool):
            measure.add_argument(*flags, action=argparse.BooleanOptionalAction, default=default)
        else:
            measure.add_argument(
                *flags,
                type=_field_type(spec_field),
                choices=CHOICES.get(name),
                default=default,
                help=f"default {default}",
            )
    measure.add_argument("--timeout", type=float, default=None, help="seconds (default: none)")

    leaderboard = commands.add_parser(
        "leaderboard", help="show the leaderboard, add an entry, or build (run what is missing and score)"
    )
    leaderboard.add_argument("action", nargs="?", choices=("show", "add", "build"), default="show")
    leaderboard.add_argument("entry", nargs="?", help="the entry .toml file, with `add`")
    leaderboard.add_argument(
        "--dir", default="leaderboard", help="the leaderboard folder (default leaderboard/)"
    )
    leaderboard.add_argument(
        "--suite", default=LEADERBOARD_SUITE, help="the leaderboard suite (default leaderboard)"
    )
    leaderboard.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1: in-process)"
    )
    leaderboard.add_argument("--timeout", type=float, default=1800.0, help="seconds per task (default 1800)")

    publish = commands.add_parser(
        "publish", help="write the static results site (works from disk, no network)"
    )
    publish.add_argument("--out", default="site", help="output folder (default site/)")
    publish.add_argument("--reports", default="reports", help="folder of run directories (default reports/)")
    publish.add_argument(
        "--leaderboard", default="leaderboard", help="built leaderboard folder (default leaderboard/)"
    )
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
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a memory budget must be at least 1 byte")
    return int(value)
