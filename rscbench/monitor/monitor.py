"""TrainingMonitor: the RSC certificate, sharpness, Hessian norms, loss and NTK drift along a user's loop.

The user keeps their own loop, optimizer and mini-batches, and calls ``monitor.step(model,
optimizer, batch)`` once per iteration, before ``optimizer.step()``: the call records the batch
loss at the current iterate theta_t and, every ``every`` steps (t = 0, every, 2 every, ...),
measures theta_t on a fixed monitoring set (X, y) with the kernels of rscbench.measure:
measure_snapshot's quantities (Q3, the loss Hessian's extremes, always; by default also Q1
predictor Hessian norms, Q4, Q6 the RSC certificate and Q10 the NTK spectrum), the sharpness of
the optimizer's next step (rscbench.measure.sharpness), the distance ||theta_t - theta_0|| and the
NTK drift ||K_t - K_0||_F / ||K_0||_F on X. Nothing the user's loop holds is touched: the kernels
work on detached copies of the parameters, so gradients and optimizer state are as they were.
``monitor.finish`` measures the final iterate, ``monitor.record()`` is the run as a
rscbench.store.TaskRecord (the format of ``rscbench run``'s records, with the trajectory) and
``monitor.save(run_dir)`` stores it in ``run_dir/store.sqlite`` and writes a report there.

Costs per checkpoint: those of the snapshot's kernels (docs/kernels.md) plus, for Adam, one
block-Lanczos run on the preconditioned Hessian and one more NTK Gram; per step, one forward pass
of the batch without gradients. Memory: theta_0 (one parameter-sized vector) and K_0 (n x n).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rscbench import __version__
from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure import loss_function, ntk_drift, ntk_gram
from rscbench.measure.losses import get_loss
from rscbench.measure.params import detached_params, model_function, scalar_output
from rscbench.measure.rsc import check_kappa
from rscbench.measure.sharpness import step_rule, step_sharpness
from rscbench.measure.snapshot import ALL_QUANTITIES, measure_snapshot
from rscbench.report import Report, write_report
from rscbench.run.specs import MEASUREMENT_VERSION
from rscbench.run.suites import Experiment, Suite
from rscbench.store import ResultStore
from rscbench.store.records import TaskRecord

__all__ = ["DEFAULT_QUANTITIES", "MonitoredRun", "TrainingMonitor"]

DEFAULT_QUANTITIES = ("Q1", "Q3", "Q4", "Q6", "Q10")
"""What each checkpoint measures unless told otherwise (Q3 is always added: sharpness needs it)."""


@dataclass(frozen=True)
class MonitoredRun:
    """A monitored training run as a report sees a task: its ``spec`` and the content hash ``task_id``."""

    spec: dict[str, Any]

    @property
    def task_id(self) -> str:
        """16 hex digits of sha256 over the spec and MEASUREMENT_VERSION (as TaskSpec.task_id)."""
        text = json.dumps({"spec": self.spec, "measurement_version": MEASUREMENT_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def canonical(self) -> dict[str, Any]:
        """The spec (already plain JSON data)."""
        return self.spec


def _plain(value: Any) -> Any:
    """An optimizer setting as plain JSON data (tensors to numbers, tuples to lists)."""
    if isinstance(value, Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _digest(*tensors: Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(np.ascontiguousarray(tensor.detach().cpu().double().numpy()).tobytes())
    return digest.hexdigest()


def _flat(model: nn.Module) -> Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


class TrainingMonitor:
    """Records curvature along a user's training loop into rscbench's store and report format.

    ``X`` (n, d) and ``y`` (n,) are the fixed monitoring set every checkpoint measures on (a
    mini-batch would change from step to step); ``loss`` is rscbench's name of the training loss
    (square without 1/2, logistic, cross_entropy). ``every`` (>= 1) steps between checkpoints;
    ``quantities``, ``kappa``, ``n_probes``, ``tol`` and ``seed`` go to measure_snapshot (and
    ``tol``/``seed`` to the preconditioned Lanczos run). ``name`` and ``dataset`` label the run in
    its spec. Bad arguments raise InvalidArgumentError naming them.
    """

    def __init__(
        self,
        X: Tensor,
        y: Tensor,
        *,
        loss: str = "square",
        every: int = 10,
        quantities: Collection[str] = DEFAULT_QUANTITIES,
        kappa: float = 0.5,
        n_probes: int = 4,
        tol: float = 1e-3,
        seed: int = 0,
        name: str = "training-monitor",
        dataset: str = "user data",
    ) -> None:
        if not isinstance(X, Tensor) or X.dim() != 2 or X.shape[0] < 1:
            shape = tuple(X.shape) if isinstance(X, Tensor) else type(X).__name__
            raise InvalidArgumentError("X", shape, "a tensor of shape (n, d) with n >= 1")
        if not isinstance(y, Tensor) or y.shape != (X.shape[0],):
            shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
            raise InvalidArgumentError("y", shape, f"a tensor of shape ({X.shape[0]},), one target per row")
        get_loss(loss)
        require_integer("every", every, 1)
        unknown = sorted(set(quantities) - set(ALL_QUANTITIES))
        if unknown:
            raise InvalidArgumentError(
                "quantities", list(quantities), "a list of " + ", ".join(ALL_QUANTITIES)
            )
        check_kappa(kappa)
        if isinstance(tol, bool) or not (isinstance(tol, (int, float)) and 0 < tol < 1):
            raise InvalidArgumentError("tol", tol, "a number in (0, 1)")
        require_integer("n_probes", n_probes, 1)
        require_integer("seed", seed, 0)
        for argument, value in (("name", name), ("dataset", dataset)):
            if not isinstance(value, str) or not value:
                raise InvalidArgumentError(argument, value, "a non-empty string")
        self.X, self.y, self.loss, self.every = X, y, loss, every
        self.quantities = tuple(q for q in ALL_QUANTITIES if q in set(quantities) | {"Q3"})
        self.kappa, self.n_probes, self.tol, self.seed = kappa, n_probes, tol, seed
        self.name, self.dataset = name, dataset
        self.trajectory: list[dict[str, Any]] = []
        self.steps = 0
        self._theta0: Tensor | None = None
        self._gram0: Tensor | None = None
        self._first: dict[str, Any] | None = None
        self._identity: dict[str, Any] | None = None
        self._started = 0.0
        self._started_at = ""
        self._finished: tuple[float, str] | None = None

    def step(self, model: nn.Module, optimizer: torch.optim.Optimizer, batch: Any = None) -> dict[str, Any]:
        """Record iterate theta_t (t = the steps recorded so far); call before ``optimizer.step()``.

        ``batch`` is the (inputs, targets) pair the loop trains on now (None: no batch loss).
        Returns the trajectory entry: ``step``, ``batch_loss`` and, at checkpoints, the measured
        fields. Raises InvalidArgumentError after ``finish``.
        """
        if self._finished is not None:
            raise InvalidArgumentError("step", "after finish", "calls to step before finish")
        if self._theta0 is None:
            self._start(model, optimizer)
        point: dict[str, Any] = {"step": self.steps}
        if batch is not None:
            point["batch_loss"] = self._batch_loss(model, batch)
        if self.steps % self.every == 0:
            point |= self._checkpoint(model, optimizer)
        self.trajectory.append(point)
        self.steps += 1
        return point

    def finish(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> TaskRecord:
        """Measure the final iterate theta_T (T = the steps recorded) and close the run; returns record()."""
        if self._theta0 is None:
            raise InvalidArgumentError("finish", "before any step", "at least one call to step first")
        if self._finished is None:
            self.trajectory.append({"step": self.steps} | self._checkpoint(model, optimizer))
            self._finished = (time.perf_counter(), datetime.datetime.now(datetime.UTC).isoformat())
        return self.record()

    def save(self, run_dir: str | Path) -> Report:
        """Store the finished run in ``run_dir/store.sqlite`` and write its report folder in ``run_dir``."""
        record = self.record()
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        run = MonitoredRun(record.spec)
        suite = Suite(
            name=self.name,
            description=f"training monitor: {record.spec['model']['arch']} trained with "
            f"{record.spec['optimizer']['name']}, measured every {self.every} steps",
            experiments=(Experiment("training-monitor", (run,)),),
            source="rscbench.monitor",
        )
        with ResultStore(run_dir / "store.sqlite") as store:
            store.put(record)
            return write_report(run_dir, suite, store, seed=self.seed)

    def record(self) -> TaskRecord:
        """The finished run as a TaskRecord: init metrics, train_* summaries and the trajectory.

        ``wall_seconds`` runs from the first step to finish (the user's training included);
        ``peak_memory_bytes`` is not measured (None).
        """
        if self._finished is None or self._identity is None or self._first is None:
            raise InvalidArgumentError("record", "an unfinished run", "a run closed with finish")
        spec = self._identity
        checkpoints = [point for point in self.trajectory if "loss" in point]
        losses = [point[key] for point in self.trajectory for key in ("loss", "batch_loss") if key in point]
        diverged = any(not math.isfinite(value) for value in losses)
        return TaskRecord(
            task_id=MonitoredRun(spec).task_id,
            spec=spec,
            status="diverged" if diverged else "ok",
            message="a recorded loss is not finite" if diverged else "",
            wall_seconds=self._finished[0] - self._started,
            peak_memory_bytes=None,
            metrics=self._first | _summary(checkpoints, self.steps),
            trajectory=self.trajectory,
            started_at=self._started_at,
            finished_at=self._finished[1],
            rscbench_version=__version__,
            measurement_version=MEASUREMENT_VERSION,
            device=str(self.X.device),
        )

    def _start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self._started = time.perf_counter()
        self._started_at = datetime.datetime.now(datetime.UTC).isoformat()
        self._theta0 = _flat(model).clone()
        groups = [
            {key: _plain(value) for key, value in group.items() if key != "params"}
            for group in optimizer.param_groups
        ]
        self._identity = {
            "kind": "training_monitor",
            "name": self.name,
            "model": {
                "arch": f"{type(model).__module__}.{type(model).__qualname__}",
                "parameters": int(self._theta0.numel()),
                "initial_parameters_hash": _digest(self._theta0),
            },
            "data": {
                "dataset": self.dataset,
                "n": int(self.X.shape[0]),
                "d": int(self.X.shape[1]),
                "monitor_set_hash": _digest(self.X, self.y),
            },
            "loss": self.loss,
            "optimizer": {"name": type(optimizer).__name__, "param_groups": groups},
            "monitor": {
                "every": self.every,
                "quantities": list(self.quantities),
                "kappa": self.kappa,
                "n_probes": self.n_probes,
                "tol": self.tol,
            },
            "seed": self.seed,
            "device": str(self.X.device),
            "dtype": str(self.X.dtype).removeprefix("torch."),
        }

    def _batch_loss(self, model: nn.Module, batch: Any) -> float:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise InvalidArgumentError("batch", type(batch).__name__, "an (inputs, targets) pair or None")
        inputs, targets = batch
        chosen = get_loss(self.loss)
        f = model_function(model)
        with torch.no_grad():
            params = detached_params(model)
            outputs = scalar_output(f, params, inputs) if chosen.scalar_output else f(params, inputs)
            return float(chosen.mean(outputs, targets))

    def _checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        theta0 = self._theta0 if self._theta0 is not None else _flat(model)
        point: dict[str, Any] = {
            "loss": float(loss_function(model, self.X, self.y, self.loss)(detached_params(model))),
            "distance": float((_flat(model).double() - theta0.double()).norm()),
        }
        if math.isfinite(point["loss"]):  # a diverged iterate has nothing to measure but its loss
            snapshot = measure_snapshot(
                model,
                self.X,
                self.y,
                loss=self.loss,
                quantities=self.quantities,
                kappa=self.kappa,
                n_probes=self.n_probes,
                tol=self.tol,
                seed=self.seed,
            )
            point |= snapshot | self._sharpness(model, optimizer, snapshot)
            if "Q10" in self.quantities and get_loss(self.loss).scalar_output:
                gram = ntk_gram(model, self.X)
                self._gram0 = gram if self._gram0 is None else self._gram0
                point["ntk_drift"] = ntk_drift(self._gram0, gram)
        if self._first is None:
            sizes = {"n": int(self.X.shape[0]), "d": int(self.X.shape[1]), "parameters": int(theta0.numel())}
            self._first = sizes | {
                key: value for key, value in point.items() if key not in ("distance", "ntk_drift")
            }
        return point

    def _sharpness(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, snapshot: Mapping[str, Any]
    ) -> dict[str, Any]:
        return step_sharpness(
            step_rule(optimizer, model),
            loss_function(model, self.X, self.y, self.loss),
            detached_params(model),
            snapshot["loss_hessian_lambda_max"],
            tol=self.tol,
            seed=self.seed,
        )


def _summary(checkpoints: list[dict[str, Any]], steps: int) -> dict[str, Any]:
    """train_* summaries over the checkpoints (None where nothing was measured)."""
    later = [point for point in checkpoints if point["step"] > 0 and "rsc_holds" in point]
    sharpness = [point["sharpness"] for point in checkpoints if point.get("sharpness") is not None]
    last = checkpoints[-1]
    return {
        "train_steps": steps,
        "train_checkpoints": len(checkpoints),
        "train_final_loss": last["loss"],
        "train_loss_ratio": last["loss"] / checkpoints[0]["loss"] if checkpoints[0]["loss"] else None,
        "train_rsc_certified_fraction": sum(bool(p["rsc_holds"]) for p in later) / len(later)
        if later
        else None,
        "train_sharpness_max": max(sharpness) if sharpness else None,
        "train_sharpness_final": last.get("sharpness"),
        "train_ntk_drift": last.get("ntk_drift"),
        "train_distance_final": last["distance"],
    }
