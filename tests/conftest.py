"""Shared pytest configuration (one torch thread, GPU cases skipped without a GPU) and the session's
tiny built leaderboard and report, shared by the leaderboard and site tests."""

import io
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from tiny_suites import TINY_REPORT_SUITE, copy_entries, tiny_suite

from rscbench.leaderboard.build import build_leaderboard
from rscbench.report import write_report
from rscbench.run.runner import run_tasks
from rscbench.run.suites import load_suite
from rscbench.store import ResultStore


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread: the cases are tiny, and on a shared 2-core machine two threads oversubscribe."""
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked gpu when no CUDA device is present, saying why."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; none is available on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


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
