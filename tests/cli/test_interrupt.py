"""Ctrl-C during `rscbench run` (a pool of workers busy): one line, exit 130, the store intact and
the workers gone."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rscbench.cli.codes import EXIT_INTERRUPTED
from rscbench.store import ResultStore

SUITE = """
name = "interrupted"
[defaults]
n = 16
d = 4
probes = 2
quantities = ["Q1", "Q6"]
gd_steps = 100000
target_ratio = 1e-300
rsc_every = 1000
[[experiment]]
name = "w"
[experiment.grid]
seed = [0, 1, 2]
"""


@pytest.mark.slow
def test_ctrl_c_is_one_line_and_exit_130_with_the_store_intact(tmp_path: Path) -> None:
    """The bug: Ctrl-C printed a KeyboardInterrupt traceback and exited 1 (the code of a verdict)."""
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "rscbench.cli", "run", str(suite), "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "store.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3.0)  # the workers have their tasks
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1].startswith("rscbench: interrupted")
    with ResultStore(out / "store.sqlite") as store:
        assert len(store) < 3
