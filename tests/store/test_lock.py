"""The store's writer lock: a second writer is refused at once naming the holder, before anything
runs; a lock left by a killed process is free; the holder may take it again."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from rscbench.run.runner import run_tasks
from rscbench.run.specs import task_from_flat
from rscbench.store import ResultStore, StoreBusyError, store_lock

HOLD = (
    "import sys, time\n"
    "from rscbench.store import store_lock\n"
    "with store_lock(sys.argv[1]):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(120)\n"
)


@pytest.fixture
def holder(tmp_path: Path):
    """Another process holding the lock of tmp_path/store.sqlite until the test ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "store.sqlite")], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_second_run_of_a_store_is_refused_before_it_runs_anything(tmp_path: Path, holder) -> None:
    """The bug: two `rscbench run` of one suite and --out at once both ran every task."""
    task = task_from_flat({"n": 8, "d": 3, "width": 4, "depth": 1, "probes": 2, "quantities": ["Q1"]})
    with ResultStore(tmp_path / "store.sqlite") as store:
        with pytest.raises(StoreBusyError, match=f"process {holder.pid}"):
            run_tasks([task], store, progress_stream=io.StringIO())
        assert len(store) == 0


def test_a_killed_holders_lock_is_free(tmp_path: Path, holder) -> None:
    holder.kill()
    holder.wait()
    with store_lock(tmp_path / "store.sqlite") as path:
        assert path.read_text().split()[0].isdigit()


def test_the_lock_is_reentrant_within_one_process(tmp_path: Path) -> None:
    with store_lock(tmp_path / "s.sqlite"), store_lock(tmp_path / "s.sqlite"):
        pass
    with store_lock(tmp_path / "s.sqlite"):  # released after the outer block
        pass
