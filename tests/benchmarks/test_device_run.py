"""The GPU machine's prepared script, rehearsed on the CPU: every phase runs under its limit, a suite
stopped at its limit keeps its finished tasks, and a second call resumes from the store sent back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = REPOSITORY / "benchmarks" / "gpu" / "device_run.sh"
SUITE = """
name = "device-rehearsal"
[defaults]
n = 8
d = 4
probes = 2
seed = [0, 1]
quantities = ["Q1", "Q4"]
[[experiment]]
name = "width"
[experiment.grid]
width = [8, 16, 32]
[experiment.fixed]
depth = 2
"""


def rehearse(tmp_path: Path, out: str, *extra: str) -> subprocess.CompletedProcess:
    suite = tmp_path / "device-rehearsal.toml"
    suite.write_text(SUITE)
    command = ["bash", str(SCRIPT), "--device", "cpu", "--suite", str(suite), "--out", str(tmp_path / out)]
    environment = os.environ | {"PYTHON": sys.executable}
    return subprocess.run(
        [*command, *extra], cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=300
    )


def stored(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]


@pytest.mark.slow
def test_the_rehearsal_runs_every_phase_and_packs_at_most_eight_files(tmp_path: Path) -> None:
    done = rehearse(tmp_path, "out", "--budget-s", "200")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and {"summary.txt", "store.sqlite", "report.tar.gz", "suite.log"} <= set(files)
    summary = (out / "summary.txt").read_text()
    for phase in ("install", "gpu-tests", "suite"):
        assert f"phase {phase}: exit 0" in summary
    assert "6 tasks stored, statuses {'ok': 6}" in summary
    with tarfile.open(out / "report.tar.gz") as packed:
        assert any(name.endswith("/report.json") for name in packed.getnames())


def test_bad_arguments_exit_2_with_one_line(tmp_path: Path) -> None:
    for arguments, words in (
        (["--device", "tpu"], "--device 'tpu'"),
        (["--budget-s", "ten"], "--budget-s 'ten'"),
        (["--resume-from", str(tmp_path / "missing.sqlite")], "--resume-from"),
        (["--frobnicate"], "unknown argument"),
    ):
        done = subprocess.run(["bash", str(SCRIPT), *arguments], capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and words in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.slow
def test_a_suite_resumes_from_the_store_of_an_earlier_call(tmp_path: Path) -> None:
    first = rehearse(tmp_path, "first", "--budget-s", "200")
    assert first.returncode == 0, first.stderr
    second = rehearse(
        tmp_path, "second", "--budget-s", "200", "--resume-from", str(tmp_path / "first" / "store.sqlite")
    )
    assert second.returncode == 0, second.stderr
    summary = (tmp_path / "second" / "summary.txt").read_text()
    assert "resuming from" in summary and "(6 already stored, 0 run" in summary
    assert stored(tmp_path / "second" / "store.sqlite") == 6
