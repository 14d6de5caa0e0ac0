"""Run one task: build its dataset and model from the spec, measure at init, then run GD if asked."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rscbench.datasets import load_dataset, targets_for
from rscbench.errors import RscbenchError
from rscbench.measure.gd import gradient_descent
from rscbench.measure.snapshot import measure_snapshot
from rscbench.models import paper_mlp
from rscbench.specs import TaskSpec

__all__ = ["TaskOutcome", "measure_task"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class TaskOutcome:
    """What a task measured: ``status`` "ok" or "diverged", scalar ``metrics`` and the GD ``trajectory``."""

    status: str
    message: str
    metrics: dict
    trajectory: list[dict]


def measure_task(spec: TaskSpec) -> TaskOutcome:
    """Measure ``spec``: the init snapshot (its protocol's quantities), then GD when gd_steps > 0.

    Metrics at init keep their snapshot names; GD summaries are prefixed ``gd_``; the trajectory
    holds one dict per GD iterate with the checkpoint and beta re-measurement fields merged in at
    their steps. A diverged run is an outcome (status "diverged"), not an error. Raises
    RscbenchError for a spec that cannot run here (e.g. CUDA requested but absent).
    """
    if spec.device == "cuda" and not torch.cuda.is_available():
        raise RscbenchError("invalid device='cuda': no CUDA device is available; allowed: cpu")
    dtype, device = DTYPES[spec.dtype], torch.device(spec.device)
    data = load_dataset(
        spec.data.dataset,
        n=spec.data.n,
        d=spec.data.d,
        seed=spec.data.dataset_seed,
        targets=spec.data.targets,
    )
    targets = targets_for(data, spec.loss)
    X = data.X.to(device=device, dtype=dtype)
    y = targets.to(device=device, dtype=dtype if targets.is_floating_point() else targets.dtype)
    out_dim = data.n_classes if spec.loss == "cross_entropy" else 1
    model = paper_mlp(
        data.d,
        spec.model.width,
        spec.model.depth,
        spec.model.activation,
        spec.model.sigma1,
        out_dim=out_dim,
        seed=spec.seed,
        scale_input=spec.model.scale_input,
    ).to(device=device, dtype=dtype)
    protocol = spec.protocol
    metrics: dict = {"dataset_hash": data.content_hash, "n": data.n, "d": data.d, "parameters": _count(model)}
    metrics |= measure_snapshot(
        model,
        X,
        y,
        loss=spec.loss,
        quantities=protocol.quantities,
        kappa=protocol.kappa,
        rho2=protocol.rho2,
        n_probes=protocol.probes,
        secant_samples=protocol.secant_samples,
        tol=protocol.tol,
        seed=spec.seed,
    )
    if protocol.gd_steps == 0:
        return TaskOutcome("ok", "", metrics, [])
    run = gradient_descent(
        model,
        X,
        y,
        loss=spec.loss,
        steps=protocol.gd_steps,
        omega=protocol.omega,
        target_ratio=protocol.target_ratio,
        beta_every=protocol.beta_every,
        rsc_every=protocol.rsc_every,
        kappa=protocol.kappa,
        rho2=protocol.rho2,
        probes=protocol.probes,
        tol=protocol.tol,
        seed=spec.seed,
    )
    metrics |= {f"gd_{key}": value for key, value in run.summary.items()}
    trajectory = [dict(point) for point in run.trajectory]
    for extra in (*run.checkpoints, *run.beta_measurements):
        trajectory[extra["step"]] |= {key: value for key, value in extra.items() if key != "step"}
    if run.outcome == "diverged":
        last = run.trajectory[-1]["loss"]
        message = f"GD diverged at step {run.steps}: loss {last:.6g} (non-finite or > 10x the initial loss)"
        return TaskOutcome("diverged", message, metrics, trajectory)
    return TaskOutcome("ok", "", metrics, trajectory)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
