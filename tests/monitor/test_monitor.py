"""TrainingMonitor: what a checkpoint records, that the user's loop is untouched, the store and report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from dense import not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure import measure_snapshot, ntk_drift, ntk_gram
from rscbench.monitor import TrainingMonitor
from rscbench.report import load_report
from rscbench.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]
N, D = 16, 4


def data(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(N, D, generator=generator, dtype=torch.float64)
    return X, torch.randn(N, generator=generator, dtype=torch.float64)


def train(monitor: TrainingMonitor, model, optimizer, X, y, steps: int) -> None:
    for _ in range(steps):
        optimizer.zero_grad()
        ((model(X).squeeze(1) - y) ** 2).mean().backward()
        monitor.step(model, optimizer, (X[:8], y[:8]))
        optimizer.step()
    monitor.finish(model, optimizer)


def test_checkpoints_match_the_snapshot_kernels_at_each_iterate() -> None:
    X, y = data()
    model = not_our_model(D)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    monitor = TrainingMonitor(X, y, every=3, quantities=["Q3", "Q6", "Q10"], seed=2)
    initial = ntk_gram(model, X)
    expected_first = measure_snapshot(model, X, y, quantities=["Q3", "Q6", "Q10"], n_probes=4, seed=2)
    train(monitor, model, optimizer, X, y, steps=7)
    record = monitor.record()
    checkpoints = [point for point in record.trajectory if "loss" in point]
    assert [point["step"] for point in checkpoints] == [0, 3, 6, 7]
    assert [point["step"] for point in record.trajectory] == list(range(8))
    for key, value in expected_first.items():
        assert checkpoints[0][key] == value, key
    final = measure_snapshot(model, X, y, quantities=["Q3", "Q6", "Q10"], n_probes=4, seed=2)
    assert checkpoints[-1]["rsc_lower"] == final["rsc_lower"]
    assert checkpoints[-1]["ntk_drift"] == pytest.approx(ntk_drift(initial, ntk_gram(model, X)), rel=1e-12)
    assert checkpoints[0]["ntk_drift"] == 0.0 and checkpoints[0]["distance"] == 0.0
    assert checkpoints[-1]["distance"] > 0
    batch_losses = [point["batch_loss"] for point in record.trajectory[:-1]]
    assert len(batch_losses) == 7 and all(value > 0 for value in batch_losses)
    assert record.metrics["train_steps"] == 7 and record.metrics["train_checkpoints"] == 4
    assert record.metrics["rsc_lower"] == expected_first["rsc_lower"]  # init metrics keep snapshot names
    assert record.metrics["train_ntk_drift"] == checkpoints[-1]["ntk_drift"]
    assert record.status == "ok" and record.spec["optimizer"]["name"] == "SGD"


def test_the_users_gradients_and_optimizer_state_are_untouched() -> None:
    X, y = data(1)
    model = not_our_model(D)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    monitor = TrainingMonitor(X, y, every=1)
    for _ in range(2):
        optimizer.zero_grad()
        ((model(X).squeeze(1) - y) ** 2).mean().backward()
        grads = [p.grad.clone() for p in model.parameters()]
        params = [p.detach().clone() for p in model.parameters()]
        state = [{k: v.clone() for k, v in optimizer.state[p].items()} for p in model.parameters()]
        monitor.step(model, optimizer, (X, y))
        assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))
        assert all(torch.equal(p.detach(), q) for p, q in zip(model.parameters(), params, strict=True))
        for p, saved in zip(model.parameters(), state, strict=True):
            assert all(torch.equal(optimizer.state[p][k], v) for k, v in saved.items())
        optimizer.step()


def test_save_writes_the_store_and_a_report(tmp_path: Path) -> None:
    X, y = data(2)
    model = not_our_model(D)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    monitor = TrainingMonitor(X, y, every=2, quantities=["Q3", "Q4"], name="unit", dataset="gaussian")
    train(monitor, model, optimizer, X, y, steps=4)
    report = monitor.save(tmp_path)
    with ResultStore(tmp_path / "store.sqlite") as store:
        stored = store.get(monitor.record().task_id)
        assert stored == monitor.record()
        steps = store.trajectory_frame()
    assert len(steps) == 5 and steps["sharpness"].notna().sum() == 2  # checkpoints 2 and 4 (Adam at 0: none)
    document = load_report(report.folder)
    (task,) = document["tasks"]
    assert task["experiment"] == "training-monitor" and task["spec"]["data"]["dataset"] == "gaussian"
    assert document["suite"]["name"] == "unit"
    results = pd.read_csv(report.folder / "results.csv")
    assert float(results.loc[results["metric"] == "train_steps", "value"].item()) == 4
    assert results.loc[results["metric"] == "train_sharpness_max", "unit"].item() == "1"
    assert (report.folder / "report.md").is_file() and (report.folder / "report.html").is_file()
    # The same run stored twice is one record (its id is the content hash of its spec).
    with ResultStore(tmp_path / "store.sqlite") as store:
        store.put(monitor.record())
        assert len(store) == 1


def test_a_non_finite_loss_is_recorded_as_diverged() -> None:
    X, y = data(3)
    model = not_our_model(D)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = TrainingMonitor(X, y, every=2, quantities=["Q3"])
    monitor.step(model, optimizer, (X, y))
    with torch.no_grad():
        next(model.parameters()).fill_(float("inf"))  # the step the loop takes overflows
    monitor.step(model, optimizer, (X, y))
    record = monitor.finish(model, optimizer)
    assert record.trajectory[-1]["loss"] != record.trajectory[-1]["loss"]  # NaN: measured, not skipped
    assert "loss_hessian_norm" not in record.trajectory[-1]
    assert record.status == "diverged" and "not finite" in record.message
    assert json.loads(json.dumps(record.to_dict()))  # strict JSON even with non-finite losses


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"X": torch.zeros(3)}, "X"),
        ({"y": torch.zeros(5)}, "y"),
        ({"every": 0}, "every"),
        ({"quantities": ["Q13"]}, "quantities"),
        ({"loss": "hinge"}, "loss"),
        ({"kappa": 0.0}, "kappa"),
        ({"tol": 1.5}, "tol"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    X, y = data()
    arguments = {"X": X, "y": y} | kwargs
    with pytest.raises(InvalidArgumentError) as error:
        TrainingMonitor(arguments.pop("X"), arguments.pop("y"), **arguments)
    assert error.value.argument == argument


def test_calls_out_of_order_are_refused() -> None:
    X, y = data()
    model = not_our_model(D)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = TrainingMonitor(X, y, quantities=["Q3"])
    with pytest.raises(InvalidArgumentError, match="finish"):
        monitor.finish(model, optimizer)
    with pytest.raises(InvalidArgumentError, match="record"):
        monitor.record()
    with pytest.raises(InvalidArgumentError, match="batch"):
        monitor.step(model, optimizer, X)
    monitor.finish(model, optimizer)
    with pytest.raises(InvalidArgumentError, match="step"):
        monitor.step(model, optimizer)


@pytest.mark.slow
def test_the_adam_example_trains_and_reads_its_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples" / "train_with_adam.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "sharpness rule: lr * (1 - beta1) / (1 + beta1)" in done.stdout
    assert "train_rsc_certified_fraction" in done.stdout and "store: 121 trajectory rows" in done.stdout
    (folder,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    assert (folder / "report.json").is_file()
