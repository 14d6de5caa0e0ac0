"""`rscbench report` and `compare`: render a run directory's report (writing a folder only when asked:
into the run directory, or published under reports/), and compare two reports."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from rscbench.cli.codes import EXIT_OK, EXIT_STRICT, REPORT_FORMATS
from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.report import compare_reports, complete_reports, load_report, update_index, write_report
from rscbench.run.planning import STORE_NAME
from rscbench.run.specs import TaskSpec
from rscbench.run.suites import Suite, load_suite, task_labels
from rscbench.store import ResultStore
from rscbench.validation import writable_folder

__all__ = ["compare_command", "report_command"]


def _suite_of(run_dir: Path) -> Suite:
    """The suite a run directory's reports were written for (its newest readable report names it;
    a report left half-written by an older rscbench, or damaged, is passed over)."""
    if not (run_dir / STORE_NAME).is_file():
        raise InvalidArgumentError("RUN_DIR", str(run_dir), f"a run directory holding {STORE_NAME}")
    problems = []
    for path in reversed(complete_reports(run_dir)):
        try:
            suite_document = load_report(path)["suite"]
        except RscbenchError as error:
            problems.append(str(error))
            continue
        source = Path(suite_document.get("source", ""))
        return load_suite(str(source) if source.is_file() else suite_document["name"])
    unreadable = f"; none of its reports reads ({problems[0]})" if problems else ""
    raise InvalidArgumentError(
        "RUN_DIR", str(run_dir), f"a run directory with at least one report (it names the suite){unreadable}"
    )


def report_command(args: argparse.Namespace) -> int:
    """Render the run directory's report from its store (nothing is recomputed).

    Without --write or --publish-to nothing is written: the report is rendered in a temporary
    folder and the file --format names is printed. --write adds a new report folder to RUN_DIR,
    --publish-to DIR one under DIR/<suite>/ with DIR/index.json updated; the last line names it.
    """
    run_dir = Path(args.run_dir)
    suite = _suite_of(run_dir)
    name = REPORT_FORMATS[args.format]
    with ResultStore(run_dir / STORE_NAME) as store:
        if args.publish_to:
            root = writable_folder("--publish-to", args.publish_to)
            written = write_report(root / suite.name, suite, store)
            index = update_index(root)
            print(f"published: {written.folder} (listed in {index})\nopen: {written.folder / 'report.html'}")
        elif args.write:
            writable_folder("RUN_DIR", run_dir)
            written = write_report(run_dir, suite, store)
            print(f"open: {written.folder / 'report.html'}")
        else:
            with tempfile.TemporaryDirectory(prefix="rscbench-report-") as scratch:
                rendered = write_report(Path(scratch), suite, store)
                sys.stdout.write((rendered.folder / name).read_text())
    return EXIT_OK


def _labels(document: dict[str, Any]) -> dict[str, str]:
    """task id -> its experiment and grid values, from a report's tasks (the id where unreadable)."""
    groups: dict[str, list[TaskSpec]] = {}
    for task in document.get("tasks", []):
        try:
            spec = TaskSpec.from_dict(task["spec"])
        except (RscbenchError, KeyError, TypeError):
            continue
        groups.setdefault(task.get("experiment") or "?", []).append(spec)
    return task_labels(groups)


def _verdict_keys(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v.get("id"), v.get("subject")) for v in document.get("verdicts", [])}


def compare_command(args: argparse.Namespace) -> int:
    """Print what changed from report A to report B (metric and regime rows named by experiment and
    grid values); exit 1 when something regressed, 2 when the reports have nothing in common."""
    a, b = load_report(args.report_a), load_report(args.report_b)
    result = compare_reports(a, b, threshold=args.threshold)
    ids_a = {task.get("task_id") for task in a.get("tasks", [])}
    ids_b = {task.get("task_id") for task in b.get("tasks", [])}
    shared = ids_a & ids_b
    common_verdicts = _verdict_keys(a) & _verdict_keys(b)
    if not shared and not common_verdicts:
        raise RscbenchError(
            f"nothing to compare: the reports share no task ({len(ids_a)} and {len(ids_b)} tasks) "
            "and no verdict; compare two reports of the same suite"
        )
    labels = _labels(a) | _labels(b)
    changes = result.changes.copy()
    metric_rows = changes["kind"] == "metric"
    changes.loc[metric_rows, "where"] = [
        f"{labels.get(task_id, '?')} [{task_id}]" for task_id in changes.loc[metric_rows, "where"]
    ]
    if shared:
        print(f"compared {len(shared)} shared tasks and {len(common_verdicts)} shared verdicts")
    else:
        print(
            f"the reports share no task ({len(ids_a)} and {len(ids_b)} tasks): no metric was compared; "
            f"{len(common_verdicts)} shared verdicts compared"
        )
    with pd.option_context(
        "display.width", 200, "display.max_rows", None, "display.float_format", "{:.4g}".format
    ):
        if changes.empty:
            print(f"no metric or fit changed by more than {args.threshold:g} (relative)")
        else:
            print(changes.to_string(index=False))
        if not result.flips.empty:
            print("\nverdicts that changed:\n" + result.flips.to_string(index=False))
        if not result.regimes.empty:
            regimes = result.regimes.copy()
            regimes["where"] = [f"{labels.get(task_id, '?')} [{task_id}]" for task_id in regimes["where"]]
            print("\ntasks whose regime changed:\n" + regimes.to_string(index=False))
    return EXIT_STRICT if result.regressed else EXIT_OK
