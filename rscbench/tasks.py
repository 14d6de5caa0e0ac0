"""Run one task: build its dataset and model (the paper's network or a user's factory) from the spec,
measure at init, then run GD if asked."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rscbench.datasets import Dataset, load_dataset, targets_for
from rscbench.errors import RscbenchError, require_integer
from rscbench.factory_models import build_factory_model
from rscbench.measure.gd import gradient_descent
from rscbench.measure.memory import (
    MemoryEstimate,
    Sizes,
    available_memory_bytes,
    check_budget,
    estimate_task_memory,
)
from rscbench.measure.snapshot import measure_snapshot
from rscbench.models import paper_mlp
from rscbench.specs import TaskSpec

__all__ = ["TaskOutcome", "estimate_memory", "measure_task"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class TaskOutcome:
    """What a task measured: ``status`` "ok" or "diverged", scalar ``metrics`` and the GD ``trajectory``."""

    status: str
    message: str
    metrics: dict
    trajectory: list[dict]


def _load_data(spec: TaskSpec) -> Dataset:
    return load_dataset(
        spec.data.dataset,
        n=spec.data.n,
        d=spec.data.d,
        seed=spec.data.dataset_seed,
        targets=spec.data.targets,
    )


def _cpu_model(spec: TaskSpec, data: Dataset) -> torch.nn.Module:
    return _build_model(spec, data.d, data.n_classes).to(dtype=DTYPES[spec.dtype])


def _estimate(spec: TaskSpec, data: Dataset, factory_model: torch.nn.Module | None = None) -> MemoryEstimate:
    """The task's memory estimate; a factory model is measured (``factory_model``, or built on the CPU)."""
    dtype = DTYPES[spec.dtype]
    itemsize = torch.empty((), dtype=dtype).element_size()
    data_bytes = data.X.numel() * (data.X.element_size() + itemsize)
    if spec.model.is_factory:
        model = factory_model if factory_model is not None else _cpu_model(spec, data)
        sizes = Sizes.of_model(model, data.X.to(dtype=dtype))
    else:
        out_dim = data.n_classes if spec.loss == "cross_entropy" else 1
        sizes = Sizes.paper(data.n, data.d, spec.model.width, spec.model.depth, out_dim, itemsize)
    return estimate_task_memory(spec, sizes, data_bytes=data_bytes)


def estimate_memory(spec: TaskSpec) -> MemoryEstimate:
    """Estimated peak memory of :func:`measure_task` on ``spec``, in bytes, per kernel and in total.

    The paper's network is sized by formula (nothing is allocated); a factory model is built once on
    the CPU to count its parameters and saved activations. See rscbench.measure.memory.
    """
    return _estimate(spec, _load_data(spec))


def measure_task(spec: TaskSpec, *, memory_budget_bytes: int | None = None) -> TaskOutcome:
    """Measure ``spec``: the init snapshot (its protocol's quantities), then GD when gd_steps > 0.

    Metrics at init keep their snapshot names; GD summaries are prefixed ``gd_``; the trajectory
    holds one dict per GD iterate with the checkpoint and beta re-measurement fields merged in at
    their steps; ``memory_estimate_bytes`` is the task's estimated peak. A diverged run is an
    outcome (status "diverged"), not an error. Raises RscbenchError for a spec that cannot run here
    (e.g. CUDA requested but absent), and MemoryBudgetError, before allocating the model, when the
    estimate exceeds ``memory_budget_bytes`` (default: the device's available memory).
    """
    if spec.device == "cuda" and not torch.cuda.is_available():
        raise RscbenchError("invalid device='cuda': no CUDA device is available; allowed: cpu")
    dtype, device = DTYPES[spec.dtype], torch.device(spec.device)
    if memory_budget_bytes is not None:
        require_integer("memory_budget_bytes", memory_budget_bytes, 1)
    data = _load_data(spec)
    # A factory model must exist to be sized: it is built once on the CPU, sized, then moved.
    factory_model = _cpu_model(spec, data) if spec.model.is_factory else None
    estimate = _estimate(spec, data, factory_model)
    check_budget(
        estimate, available_memory_bytes(device) if memory_budget_bytes is None else memory_budget_bytes
    )
    targets = targets_for(data, spec.loss)
    X = data.X.to(device=device, dtype=dtype)
    y = targets.to(device=device, dtype=dtype if targets.is_floating_point() else targets.dtype)
    model = (factory_model if factory_model is not None else _cpu_model(spec, data)).to(device=device)
    protocol = spec.protocol
    metrics: dict = {
        "dataset_hash": data.content_hash,
        "n": data.n,
        "d": data.d,
        "parameters": _count(model),
        "memory_estimate_bytes": estimate.total_bytes,
    }
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


def _build_model(spec: TaskSpec, in_dim: int, n_classes: int) -> torch.nn.Module:
    """The task's network: a user's factory (``arch = "module:function"``) or the paper's MLP."""
    if spec.model.is_factory:
        return build_factory_model(
            spec.model.arch, in_dim=in_dim, width=spec.model.width, depth=spec.model.depth, seed=spec.seed
        )
    return paper_mlp(
        in_dim,
        spec.model.width,
        spec.model.depth,
        spec.model.activation,
        spec.model.sigma1,
        out_dim=n_classes if spec.loss == "cross_entropy" else 1,
        seed=spec.seed,
        scale_input=spec.model.scale_input,
    )


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
