"""`rscbench report` and `compare`: re-render a run directory's report, and compare two reports."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rscbench.cli.codes import EXIT_OK, EXIT_STRICT, REPORT_FORMATS
from rscbench.errors import InvalidArgumentError
from rscbench.report import compare_reports, load_report, write_report
from rscbench.run.planning import STORE_NAME
from rscbench.run.suites import load_suite
from rscbench.store import ResultStore

__all__ = ["compare_command", "report_command"]


def report_command(args: argparse.Namespace) -> int:
    """Write the run directory's report again from its store and print the file ``--format`` names."""
    run_dir = Path(args.run_dir)
    if not (run_dir / STORE_NAME).is_file():
        raise InvalidArgumentError("RUN_DIR", str(run_dir), f"a run directory holding {STORE_NAME}")
    previous = sorted(run_dir.glob("*/report.json"))
    if not previous:
        raise InvalidArgumentError(
            "RUN_DIR", str(run_dir), "a run directory with at least one report (it names the suite)"
        )
    suite_document = load_report(previous[-1])["suite"]
    source = Path(suite_document.get("source", ""))
    suite = load_suite(str(source) if source.is_file() else suite_document["name"])
    with ResultStore(run_dir / STORE_NAME) as store:
        written = write_report(run_dir, suite, store)
    path = written.folder / REPORT_FORMATS[args.format]
    print(path if args.format == "html" else path.read_text(), end="\n" if args.format == "html" else "")
    return EXIT_OK


def compare_command(args: argparse.Namespace) -> int:
    """Print what changed from report A to report B; exit 1 when something regressed."""
    result = compare_reports(load_report(args.report_a), load_report(args.report_b), threshold=args.threshold)
    with pd.option_context(
        "display.width", 200, "display.max_rows", None, "display.float_format", "{:.4g}".format
    ):
        if result.changes.empty:
            print(f"no metric or fit changed by more than {args.threshold:g} (relative)")
        else:
            print(result.changes.to_string(index=False))
        if not result.flips.empty:
            print("\nverdicts that changed:\n" + result.flips.to_string(index=False))
    return EXIT_STRICT if result.regressed else EXIT_OK
