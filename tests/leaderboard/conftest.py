"""A tiny leaderboard and a tiny report, built once for the leaderboard and publish tests."""

import io

import pytest
from leaderboard_setup import TINY_REPORT_SUITE, copy_entries, tiny_suite

from rscbench.leaderboard.build import build_leaderboard
from rscbench.report import write_report
from rscbench.runner import run_tasks
from rscbench.store import ResultStore
from rscbench.suites import load_suite


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict:
    """A built tiny leaderboard (three shipped entries) and a tiny report, with their paths."""
    root = tmp_path_factory.mktemp("built")
    folder = root / "leaderboard"
    copy_entries(folder)
    suite = tiny_suite(root)
    build = build_leaderboard(folder, suite=suite, progress_stream=io.StringIO())
    report_suite = root / "tiny.toml"
    report_suite.write_text(TINY_REPORT_SUITE)
    loaded = load_suite(str(report_suite))
    with ResultStore(root / "reports" / "tiny" / "store.sqlite") as store:
        run_tasks(loaded.tasks(), store, progress_stream=io.StringIO())
        write_report(root / "reports" / "tiny", loaded, store)
    return {"root": root, "folder": folder, "suite": suite, "build": build, "reports": root / "reports"}
