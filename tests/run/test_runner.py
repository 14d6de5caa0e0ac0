"""The runner: resume after kill -9, outcomes stored (ok, failed, timeout), determinism, executors."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.run.execute import execute_task
from rscbench.run.pool import gpu_assignments, pin_to_gpu
from rscbench.run.runner import run_tasks
from rscbench.run.specs import task_from_flat
from rscbench.run.suites import load_suite
from rscbench.run.task_memory import estimate_memory
from rscbench.store import ResultStore

TINY = {"n": 16, "d": 4, "width": 16, "depth": 2, "probes": 3, "secant_samples": 3}

SUITE = """
name = "resume"
[defaults]
n = 24
d = 8
probes = 4
secant_samples = 4
[[experiment]]
name = "grid"
[experiment.grid]
width = [32, 48, 64]
seed = [0, 1, 2]
[experiment.fixed]
gd_steps = 40
rsc_every = 20
quantities = ["Q1", "Q3", "Q4", "Q6"]
"""


def metrics_by_task(path) -> dict:
    with ResultStore(path) as store:
        return {record.task_id: (record.status, record.metrics) for record in store.records()}


def cli(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "rscbench.cli", *arguments]


@pytest.mark.slow
def test_kill_minus_9_then_rerun_resumes_and_matches_an_uninterrupted_run(tmp_path) -> None:
    suite = tmp_path / "resume.toml"
    suite.write_text(SUITE)
    interrupted, clean = tmp_path / "interrupted", tmp_path / "clean"
    process = subprocess.Popen(
        cli("run", str(suite), "--out", str(interrupted)),
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    store_path = interrupted / "store.sqlite"
    deadline = time.monotonic() + 240
    stored = 0
    while time.monotonic() < deadline and process.poll() is None:
        if store_path.exists():
            with ResultStore(store_path) as store:
                stored = len(store)
            if stored >= 2:
                break
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = metrics_by_task(store_path)
    assert 2 <= len(before) < 9

    resumed = subprocess.run(
        cli("run", str(suite), "--out", str(interrupted)), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(before)} already stored" in resumed.stdout
    subprocess.run(cli("run", str(suite), "--out", str(clean)), capture_output=True, check=True)

    after, reference = metrics_by_task(store_path), metrics_by_task(clean / "store.sqlite")
    assert len(after) == 9 and set(after) == set(reference)
    assert all(after[task_id] == before[task_id] for task_id in before)
    assert after == reference  # bitwise: the same task and seed give the same numbers


def test_rerun_skips_everything_stored(tmp_path) -> None:
    tasks = load_suite("smoke").tasks()[:2]
    with ResultStore(tmp_path / "s.sqlite") as store:
        first = run_tasks(tasks, store, progress_stream=io.StringIO())
        second = run_tasks(tasks, store, progress_stream=io.StringIO())
    assert first.skipped == 0 and first.statuses == {"ok": 2}
    assert second.skipped == 2 and second.statuses == {}


def test_failure_and_timeout_are_recorded_not_raised(tmp_path) -> None:
    missing = task_from_flat(TINY | {"dataset": f"npz:{tmp_path / 'absent.npz'}", "d": None})
    failed = execute_task(missing.canonical())
    assert failed["status"] == "failed" and "absent.npz" in failed["message"]
    slow = task_from_flat(TINY | {"width": 256, "gd_steps": 500})
    timed_out = execute_task(slow.canonical(), timeout_seconds=0.2)
    assert timed_out["status"] == "timeout" and "0.2" in timed_out["message"]


def test_non_finite_loss_is_a_diverged_outcome(tmp_path) -> None:
    # Targets of 1e30 are finite in float32, but their squared error overflows to inf.
    generator = np.random.default_rng(0)
    path = tmp_path / "huge.npz"
    np.savez(path, X=generator.standard_normal((16, 4)), y=1e30 * generator.standard_normal(16))
    task = task_from_flat(TINY | {"dataset": f"npz:{path}", "d": None, "gd_steps": 10, "quantities": ["Q4"]})
    record = execute_task(task.canonical())
    assert record["status"] == "diverged" and "diverged at step 0" in record["message"]
    assert record["metrics"]["gd_outcome"] == "diverged"


def test_same_task_same_numbers_bitwise() -> None:
    task = task_from_flat(TINY | {"gd_steps": 20, "rsc_every": 10})
    first, second = execute_task(task.canonical()), execute_task(task.canonical())
    assert json.dumps(first["metrics"], sort_keys=True) == json.dumps(second["metrics"], sort_keys=True)
    assert first["trajectory"] == second["trajectory"]


def test_process_pool_gives_the_records_of_the_in_process_run(tmp_path) -> None:
    tasks = [task_from_flat(TINY | {"seed": seed, "quantities": ["Q1", "Q4"]}) for seed in range(3)]
    experiments = {task.task_id: "seeds" for task in tasks}
    log = io.StringIO()
    with ResultStore(tmp_path / "a.sqlite") as local, ResultStore(tmp_path / "b.sqlite") as pooled:
        run_tasks(tasks, local, progress_stream=io.StringIO())
        summary = run_tasks(tasks, pooled, workers=2, experiments=experiments, progress_stream=log)
        assert summary.statuses == {"ok": 3}
        assert all(r.experiment == "seeds" and r.threads >= 1 for r in pooled.records())
        assert all(r.experiment is None for r in local.records())
        assert log.getvalue().count("| running: ") == 3  # one line per task handed to a worker
        for task in tasks:
            a, b = local.get(task.task_id).metrics, pooled.get(task.task_id).metrics
            assert a.keys() == b.keys()
            for key, value in a.items():
                assert (
                    value == pytest.approx(b[key], rel=1e-5) if isinstance(value, float) else value == b[key]
                )


@pytest.mark.slow
def test_dask_local_cluster_with_a_worker_killed_mid_task(tmp_path) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    tasks = [task_from_flat(TINY | {"seed": seed, "gd_steps": 60, "rsc_every": 30}) for seed in range(4)]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        victim = next(iter(cluster.workers.values())).process.pid
        killer = threading.Timer(2.0, os.kill, (victim, signal.SIGKILL))
        killer.start()
        with ResultStore(tmp_path / "d.sqlite") as store:
            summary = run_tasks(
                tasks,
                store,
                executor="dask",
                scheduler=cluster.scheduler_address,
                progress_stream=io.StringIO(),
            )
            killer.join()
            assert summary.statuses == {"ok": 4} and len(store) == 4
        with ResultStore(tmp_path / "local.sqlite") as local:
            run_tasks(tasks, local, progress_stream=io.StringIO())
            assert {r.task_id for r in local.records()} == {t.task_id for t in tasks}


def test_cuda_task_without_a_gpu_is_a_recorded_failure() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    record = execute_task(task_from_flat(TINY | {"device": "cuda"}).canonical())
    assert record["status"] == "failed" and "cuda" in record["message"]


def test_pool_workers_are_pinned_round_robin_one_gpu_each(monkeypatch) -> None:
    assert gpu_assignments(4, 2) == [0, 1, 0, 1] and gpu_assignments(2, 8) == [0, 1]
    with pytest.raises(InvalidArgumentError):
        gpu_assignments(2, 0)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    pin_to_gpu(1)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"


def test_dask_sends_cuda_tasks_only_to_workers_that_declare_a_gpu(tmp_path) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    from rscbench.run.dask_executor import require_gpu_workers

    cuda_task = task_from_flat(TINY | {"device": "cuda"})
    with (
        distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        ResultStore(tmp_path / "none.sqlite") as store,
        pytest.raises(RscbenchError, match="GPU=1"),
    ):
        run_tasks([cuda_task], store, executor="dask", scheduler=cluster.scheduler_address)
    with (
        distributed.LocalCluster(
            n_workers=1, processes=False, dashboard_address=None, resources={"GPU": 1}
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert require_gpu_workers(client.scheduler_info()["workers"]) == 1
        with ResultStore(tmp_path / "gpu.sqlite") as store:
            summary = run_tasks(
                [cuda_task],
                store,
                executor="dask",
                scheduler=cluster.scheduler_address,
                progress_stream=io.StringIO(),
            )
            expected = "ok" if torch.cuda.is_available() else "failed"
            assert summary.statuses == {expected: 1}


@pytest.mark.gpu
def test_a_task_on_cuda_matches_the_cpu_in_float64() -> None:
    """The CUDA path end to end: same spec on both devices, float64, metrics within 1e-6 relative."""
    spec = TINY | {"dtype": "float64", "gd_steps": 20, "rsc_every": 10}
    cpu = execute_task(task_from_flat(spec).canonical())
    gpu = execute_task(task_from_flat(spec | {"device": "cuda"}).canonical())
    assert cpu["status"] == gpu["status"] == "ok" and gpu["device"].startswith("cuda:")
    assert gpu["peak_memory_bytes"] > 0
    for key, value in cpu["metrics"].items():
        if isinstance(value, float) and key != "dataset_hash":
            assert gpu["metrics"][key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_a_task_over_its_memory_budget_is_refused_before_it_allocates() -> None:
    spec = task_from_flat(TINY)
    estimate = estimate_memory(spec)
    refused = execute_task(spec.canonical(), memory_budget_bytes=estimate.total_bytes - 1)
    assert refused["status"] == "failed" and refused["metrics"] == {}
    assert refused["message"].startswith("MemoryBudgetError: memory:") and "budget" in refused["message"]
    fits = execute_task(spec.canonical(), memory_budget_bytes=estimate.total_bytes)
    assert fits["status"] == "ok" and fits["metrics"]["memory_estimate_bytes"] == estimate.total_bytes


def test_warnings_are_stored_with_their_quantity_and_the_callers_threads_come_back(
    tmp_path, monkeypatch
) -> None:
    import warnings

    from rscbench.run import execute
    from rscbench.run.task import TaskOutcome

    def measure(spec, *, memory_budget_bytes=None, on_part=None):
        on_part("Q1")
        warnings.warn("3 of 16 predictor-Hessian norms stopped at max_iter=128", RuntimeWarning, stacklevel=1)
        return TaskOutcome("ok", "", {"loss": 1.0}, [])

    monkeypatch.setattr(execute, "measure_task", measure)
    task = task_from_flat(TINY)
    before = torch.get_num_threads()
    with ResultStore(tmp_path / "w.sqlite") as store:
        run_tasks([task], store, threads=2 if before == 1 else 1, progress_stream=io.StringIO())
        stored = store.get(task.task_id)
    assert stored.warnings == ["Q1: RuntimeWarning: 3 of 16 predictor-Hessian norms stopped at max_iter=128"]
    assert stored.threads == (2 if before == 1 else 1) and torch.get_num_threads() == before
    assert set(stored.quantity_seconds) == {"setup", "Q1"}
