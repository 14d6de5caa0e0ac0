"""Train your own model with Adam in your own loop, record its curvature with rscbench, read the report.

Run: python docs/examples/train_with_adam.py [OUT_DIR]   (default runs/train_with_adam; about 10 s
on 2 CPU cores). The model, the optimizer, the mini-batches and the loop are the user's; rscbench
only adds ``monitor.step(...)`` before each ``optimizer.step()`` and ``monitor.finish/save`` at the
end. The monitor writes OUT_DIR/store.sqlite (the store ``rscbench run`` writes) and a report folder
OUT_DIR/<UTC timestamp>-<commit>/ with report.json, results.csv, report.md and report.html.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import torch

from rscbench.data import load_dataset
from rscbench.monitor import TrainingMonitor
from rscbench.store import ResultStore

STEPS, BATCH, EVERY, LR = 120, 64, 20, 3e-3


def main(out: Path) -> None:
    torch.manual_seed(0)
    data = load_dataset("mnist1d", n=1024, seed=0)  # Greydanus' MNIST-1D, d = 40
    X, y = data.X.float(), data.y.float()  # square-loss targets: +1 odd digit, -1 even
    model = torch.nn.Sequential(
        torch.nn.Linear(40, 128),
        torch.nn.GELU(),
        torch.nn.Linear(128, 128),
        torch.nn.GELU(),
        torch.nn.Linear(128, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    # Curvature is measured on a fixed monitoring set, not on the changing mini-batches.
    monitor = TrainingMonitor(
        X[:128], y[:128], loss="square", every=EVERY, name="mlp-adam", dataset="mnist1d"
    )

    batches = torch.Generator().manual_seed(1)
    for _ in range(STEPS):
        rows = torch.randint(0, X.shape[0], (BATCH,), generator=batches)
        inputs, targets = X[rows], y[rows]
        optimizer.zero_grad()
        loss = ((model(inputs).squeeze(1) - targets) ** 2).mean()
        loss.backward()
        monitor.step(model, optimizer, (inputs, targets))  # before the update: measures theta_t
        optimizer.step()
    monitor.finish(model, optimizer)
    report = monitor.save(out)

    # Reading the report: report.json holds the run's record with its trajectory ...
    document = json.loads((report.folder / "report.json").read_text())
    (task,) = document["tasks"]
    checkpoints = pd.DataFrame([point for point in task["trajectory"] if "rsc_lower" in point])
    columns = [
        "step",
        "loss",
        "sharpness",
        "loss_hessian_norm",
        "predictor_hessian_max",
        "rsc_lower",
        "ntk_drift",
    ]
    print(f"report: {report.folder}")
    print(checkpoints[columns].to_string(index=False))
    print("sharpness rule:", checkpoints["sharpness_rule"].iloc[-1])
    # ... results.csv one tidy row per metric with its unit, and the store loads with pandas.
    results = pd.read_csv(report.folder / "results.csv")
    print(
        results[results["metric"].str.startswith("train_")][["metric", "value", "unit"]].to_string(
            index=False
        )
    )
    steps = ResultStore(out / "store.sqlite").trajectory_frame()
    print(f"store: {len(steps)} trajectory rows for task {task['task_id']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/train_with_adam"))
