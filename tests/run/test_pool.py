"""The local pool: a killed worker's failure is recorded on its own task (the task on the other worker
runs on, undisturbed), workers end with their driver, and --retry-failed reruns only failed and
timed-out tasks."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rscbench.run.pool import run_in_pool
from rscbench.run.runner import run_tasks
from rscbench.run.specs import task_from_flat
from rscbench.store import ResultStore

TINY = {"n": 8, "d": 3, "width": 8, "depth": 1, "probes": 2, "quantities": ["Q1"]}


def dies_on_seed_1(canonical: dict[str, Any]) -> dict[str, Any]:
    """A worker's job: seed 1 kills its own worker after 0.5 s; others take 2 s and report ok."""
    if canonical["seed"] == 1:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(2.0)
    return {"seed": canonical["seed"], "status": "ok"}


def sleeps_after_naming_itself(canonical: dict[str, Any]) -> dict[str, Any]:
    """A worker's job: write this worker's pid to <PID_FOLDER>/<seed>, then sleep a minute."""
    folder = Path(os.environ["PID_FOLDER"])
    (folder / f"{canonical['seed']}.tmp").write_text(str(os.getpid()))
    (folder / f"{canonical['seed']}.tmp").rename(folder / str(canonical["seed"]))
    time.sleep(60)
    return {}


@pytest.mark.slow
def test_a_killed_worker_fails_its_own_task_and_the_other_runs_on() -> None:
    """The bug: with 2 workers, kill -9 of one reran its task and recorded the other's as failed."""
    canonicals = [task_from_flat(TINY | {"seed": seed}).canonical() for seed in (0, 1)]
    finished: list[dict[str, Any]] = []
    run_in_pool(canonicals, 2, dies_on_seed_1, finished.append)
    by_seed = {record.get("seed", record.get("spec", {}).get("seed")): record for record in finished}
    assert len(finished) == 2 and by_seed[0] == {"seed": 0, "status": "ok"}
    died = by_seed[1]
    assert died["status"] == "failed" and died["task_id"] == task_from_flat(TINY | {"seed": 1}).task_id
    assert "SIGKILL" in died["message"] and 0.3 < died["wall_seconds"] < 10


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie no one reaps counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.slow
def test_workers_end_when_their_driver_is_killed(tmp_path: Path) -> None:
    """The bug: kill -9 of the driver left its pool workers running (about 445 MB each)."""
    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import test_pool as t\n"
            "from rscbench.run.specs import task_from_flat\n"
            "c = [task_from_flat(t.TINY | {'seed': s}).canonical() for s in (0, 1)]\n"
            "t.run_in_pool(c, 2, t.sleeps_after_naming_itself, print)",
            str(Path(__file__).parent),
        ],
        env=os.environ | {"PID_FOLDER": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("[01]"))) < 2 and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = [int((tmp_path / name).read_text()) for name in ("0", "1")]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in pids)
    finally:
        driver.kill()
        driver.wait()


def test_retry_failed_reruns_failed_tasks_only(tmp_path: Path) -> None:
    """The bug: a failed task was never rerun, except by --fresh, which dropped every record."""
    data = tmp_path / "late.npz"
    ok = task_from_flat(TINY)
    failing = task_from_flat(TINY | {"dataset": f"npz:{data}", "d": None})
    with ResultStore(tmp_path / "store.sqlite") as store:
        first = run_tasks([ok, failing], store, progress_stream=io.StringIO())
        assert first.statuses == {"ok": 1, "failed": 1}
        finished_ok = store.get(ok.task_id).finished_at
        np.savez(data, X=np.ones((8, 3)) + np.eye(8, 3), y=np.arange(8.0))
        plain = run_tasks([ok, failing], store, progress_stream=io.StringIO())
        assert plain.statuses == {} and store.get(failing.task_id).status == "failed"
        retried = run_tasks([ok, failing], store, progress_stream=io.StringIO(), retry_failed=True)
        assert retried.statuses == {"ok": 1}
        assert store.get(failing.task_id).status == "ok"
        assert store.get(ok.task_id).finished_at == finished_ok  # not rerun
