"""Run one task: build its dataset and model (the paper's network or a user's factory) from the spec,
measure at init, then train if asked (the theorem's GD, or the protocol's sgd, momentum or adam)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rscbench.data import targets_for
from rscbench.errors import RscbenchError, require_integer
from rscbench.measure.gd import gradient_descent
from rscbench.measure.memory import check_budget
from rscbench.measure.optimizers import train
from rscbench.measure.snapshot import measure_snapshot
from rscbench.run.builders import (
    TORCH_DTYPES,
    build_task_model,
    load_task_data,
    parameter_count,
    task_data_shape,
)
from rscbench.run.device_memory import available_memory_bytes
from rscbench.run.specs import TaskSpec
from rscbench.run.task_memory import task_memory_estimate
from rscbench.vocabulary import GD_QUANTITY

__all__ = ["TaskOutcome", "measure_task"]


@dataclass(frozen=True)
class TaskOutcome:
    """What a task measured: ``status`` "ok" or "diverged", scalar ``metrics`` and the GD ``trajectory``."""

    status: str
    message: str
    metrics: dict
    trajectory: list[dict]


def _non_finite_outputs(model: torch.nn.Module, X: torch.Tensor) -> str:
    """How many of the model's outputs on X are NaN or infinite, in words ("" when all are finite).

    One forward without gradients; the model's buffers (e.g. running statistics) are restored, so
    the measurements that follow see the model as it was built.
    """
    buffers = {name: value.clone() for name, value in model.named_buffers()}
    with torch.no_grad():
        outputs = model(X)
        for name, value in model.named_buffers():
            value.copy_(buffers[name])
    if bool(torch.isfinite(outputs).all()):
        return ""
    nan, bad = int(torch.isnan(outputs).sum()), int((~torch.isfinite(outputs)).sum())
    return f"{nan} NaN and {bad - nan} infinite of {outputs.numel()} on the data"


def measure_task(
    spec: TaskSpec,
    *,
    memory_budget_bytes: int | None = None,
    on_part: Callable[[str], None] | None = None,
) -> TaskOutcome:
    """Measure ``spec``: the init snapshot (its protocol's point quantities, if any), then training
    when gd_steps > 0: gradient_descent for optimizer "gd", rscbench.measure.optimizers.train for
    the others. ``on_part`` is called with each quantity's code as it starts (Q9 for training), for
    rscbench.run.task_clock.

    Metrics at init keep their snapshot names; training summaries are prefixed ``gd_`` whatever the
    optimizer; the trajectory holds one dict per iterate with the checkpoint and curvature
    re-measurement fields merged in at their steps; ``memory_estimate_bytes`` is the task's
    estimated peak. A diverged run is an outcome (status "diverged"), not an error; so is a model
    whose outputs at initialization are not finite (NaN or infinite): nothing can be measured on
    it, and the task is stored as diverged with its sizes and a message saying how many outputs
    were not finite. Raises RscbenchError for a spec that cannot run here (e.g. CUDA requested but
    absent), and MemoryBudgetError, before allocating the data or the model, when the estimate exceeds
    ``memory_budget_bytes`` (default: the device's available memory).
    """
    if spec.device == "cuda" and not torch.cuda.is_available():
        raise RscbenchError("invalid device='cuda': no CUDA device is available; allowed: cpu")
    dtype, device = TORCH_DTYPES[spec.dtype], torch.device(spec.device)
    if memory_budget_bytes is not None:
        require_integer("memory_budget_bytes", memory_budget_bytes, 1)
    # Sized before anything of the task's size exists: the data by its shape, a factory model
    # (which must exist to be sized) built once on the CPU, sized, then moved.
    shape = task_data_shape(spec)
    factory_model = build_task_model(spec, shape) if spec.model.is_factory else None
    estimate = task_memory_estimate(spec, shape, factory_model)
    check_budget(
        estimate, available_memory_bytes(device) if memory_budget_bytes is None else memory_budget_bytes
    )
    data = load_task_data(spec)
    targets = targets_for(data, spec.loss)
    X = data.X.to(device=device, dtype=dtype)
    y = targets.to(device=device, dtype=dtype if targets.is_floating_point() else targets.dtype)
    model = (factory_model if factory_model is not None else build_task_model(spec, data)).to(device=device)
    protocol = spec.protocol
    metrics: dict = {
        "dataset_hash": data.content_hash,
        "n": data.n,
        "d": data.d,
        "parameters": parameter_count(model),
        "memory_estimate_bytes": estimate.total_bytes,
    }
    not_finite = _non_finite_outputs(model, X)
    if not_finite:
        return TaskOutcome(
            "diverged", f"the model's outputs at initialization are not finite: {not_finite}", metrics, []
        )
    shared = {"loss": spec.loss, "kappa": protocol.kappa, "rho2": protocol.rho2, "tol": protocol.tol}
    if protocol.quantities:
        metrics |= measure_snapshot(
            model,
            X,
            y,
            quantities=protocol.quantities,
            n_probes=protocol.probes,
            secant_samples=protocol.secant_samples,
            trace_products=protocol.trace_products,
            density_vectors=protocol.density_vectors,
            density_steps=protocol.density_steps,
            seed=spec.seed,
            on_part=on_part,
            **shared,
        )
    if protocol.gd_steps == 0:
        return TaskOutcome("ok", "", metrics, [])
    if on_part is not None:
        on_part(GD_QUANTITY)
    common = {
        "steps": protocol.gd_steps,
        "target_ratio": protocol.target_ratio,
        "beta_every": protocol.beta_every,
        "rsc_every": protocol.rsc_every,
        "probes": protocol.probes,
        "seed": spec.seed,
    } | shared
    if protocol.optimizer == "gd":
        run = gradient_descent(model, X, y, omega=protocol.omega, **common)
    else:
        run = train(
            model,
            X,
            y,
            optimizer=protocol.optimizer,
            lr=protocol.lr,
            batch_size=protocol.batch_size,
            lr_schedule=protocol.lr_schedule,
            momentum=protocol.momentum,
            **common,
        )
    metrics |= {f"gd_{key}": value for key, value in run.summary.items()}
    trajectory = [dict(point) for point in run.trajectory]
    for extra in (*run.checkpoints, *run.beta_measurements):
        trajectory[extra["step"]] |= {key: value for key, value in extra.items() if key != "step"}
    if run.outcome == "diverged":
        last = run.trajectory[-1]["loss"]
        name = "GD" if protocol.optimizer == "gd" else protocol.optimizer
        message = (
            f"{name} diverged at step {run.steps}: loss {last:.6g} (non-finite or > 10x the initial loss)"
        )
        return TaskOutcome("diverged", message, metrics, trajectory)
    return TaskOutcome("ok", "", metrics, trajectory)
