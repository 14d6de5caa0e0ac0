"""How long a task will take, before it runs: per-quantity work counts calibrated on measured records.

Each quantity of a task is counted as *steps* (matrix-free products, training steps: the passes
whose Python and launch overhead dominates small models) and *flops* (multiply-adds of those
passes, which dominate large ones), from the task's sizes: n samples, P parameters, width m, depth
L, probes, secant samples, trace products, density starts and steps, training steps, batch size
and checkpoints (:func:`task_work`). A task's time is then

    seconds = setup + sum over its quantities q of (a_q * steps_q + b_q * flops_q)

with the coefficients fitted, per device kind (cpu, cuda), to measured records: the committed
reports under ``reports/`` and the local store (:func:`calibrate`). Records that carry their
per-quantity wall times (store schema 4) fit each quantity's own (a_q, b_q); the rest fit one
shared (setup, a, b) to task totals. Fits minimise a robust (Cauchy) loss of the log ratio of
predicted to measured time, so a task slowed by a load spike does not drag the model.

Flops count double in float64 (the kernels move twice the bytes). Training stops early when it
reaches its target loss, so its expected steps are the step budget times the median fraction of the
budget the calibration records of the same activation and optimizer ran. With no CUDA record to
calibrate on, a GPU is assumed to take this CPU's per-step overhead and to run the flops
ASSUMED_GPU_SPEEDUP times faster than this CPU was measured to; the model says so
(``assumption``). With fewer than MIN_RECORDS records there is no model: the time is unknown,
never guessed.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from rscbench.errors import RscbenchError
from rscbench.run.specs import TaskSpec
from rscbench.run.task_clock import SETUP
from rscbench.store import ResultStore, TaskRecord
from rscbench.vocabulary import GD_QUANTITY

__all__ = [
    "ASSUMED_GPU_SPEEDUP",
    "LANCZOS_STEPS",
    "MIN_RECORDS",
    "NEURON_BLOCK_QUANTITIES",
    "REPORT_TASK_EXTRAS",
    "CostModel",
    "Work",
    "calibrate",
    "calibration_records",
    "fit_key",
    "neuron_blocks",
    "task_work",
]

LANCZOS_STEPS = 32
"""Nominal Lanczos steps per eigenvalue estimate (the fitted coefficients absorb the true count)."""
MIN_RECORDS = 3
"""Fewest ok records of a device kind (or of one quantity) a fit is made from."""
ASSUMED_GPU_SPEEDUP = 100.0
"""How many times faster than this CPU a GPU is assumed to run the flops, without a CUDA record."""
CHECKPOINT = ("Q1", "Q4", "Q6", "Q10")
"""What each GD checkpoint measures (Q8 adds nothing to these), as rscbench.measure.gd does."""


@dataclass(frozen=True)
class Work:
    """The work of one quantity: ``steps`` (passes) and ``flops`` (floating-point operations)."""

    steps: float
    flops: float

    def __add__(self, other: Work) -> Work:
        return Work(self.steps + other.steps, self.flops + other.flops)

    def __mul__(self, factor: float) -> Work:
        return Work(self.steps * factor, self.flops * factor)


NEURON_BLOCK_QUANTITIES = ("Q1", "Q6")
"""The quantities the paper's network at depth 1 computes on the exact per-neuron path
(rscbench.measure.neuron_blocks): their work has another form, and they are fitted apart."""


def neuron_blocks(spec: TaskSpec) -> bool:
    """Whether ``spec``'s Q1 and Q6 run on the exact per-neuron path (the paper's network at depth 1)."""
    return not spec.model.is_factory and spec.model.depth == 1


def fit_key(spec: TaskSpec, quantity: str) -> str:
    """The name ``quantity``'s time is fitted under: "<Q> (neuron blocks)" on the per-neuron path."""
    return (
        f"{quantity} (neuron blocks)"
        if quantity in NEURON_BLOCK_QUANTITIES and neuron_blocks(spec)
        else quantity
    )


def _point_work(spec: TaskSpec, quantity: str, n: int, parameters: int) -> Work:
    """Work of one point quantity (Q1-Q4, Q6, Q7, Q10-Q12) for a model of ``parameters`` on ``n`` rows."""
    k, P = LANCZOS_STEPS, parameters
    probes = min(spec.protocol.probes, n)
    factory = spec.model.is_factory
    width, depth = spec.model.width, spec.model.depth
    if quantity in NEURON_BLOCK_QUANTITIES and neuron_blocks(spec):  # exact, one or five passes
        return Work(1, 2 * probes * P) if quantity == "Q1" else Work(5, 5 * 6 * n * P)
    if quantity == "Q1":  # one product per probe per step: a forward of one row (structured) or an HVP
        return Work(k * (probes if factory else 1), 2 * probes * k * P * (3 if factory else 1))
    if quantity == "Q2":  # two probes, L + 2 blocks, HVPs of one row
        blocks = 2 * (depth + 2)
        return Work(blocks * k, blocks * k * 6 * P)
    if quantity == "Q3":  # Lanczos on the loss Hessian: HVPs over all rows
        return Work(k, k * 6 * n * P)
    if quantity == "Q4":  # per-sample gradient norms and g_bar
        return Work(2, 6 * n * P)
    if quantity == "Q6":  # Lanczos on P H P and on R (with a Gauss-Newton product per step)
        return Work(2 * k, 2 * k * 10 * n * P)
    if quantity == "Q7":  # a loss (and gradient) per secant sample
        samples = 2 * spec.protocol.secant_samples
        return Work(samples, samples * 2 * n * P)
    if quantity == "Q10":  # the Gram: Jacobian rows and their products
        return Work(n if factory else 1, 2 * n * P + 2 * n * n * (P if factory else depth * width))
    if quantity == "Q11":  # Hutch++: one HVP per product, a QR of the sketch's k images
        products, sketch = spec.protocol.trace_products, spec.protocol.trace_products // 3
        return Work(products, products * 6 * n * P + 2 * sketch * sketch * P)
    if quantity == "Q12":  # SLQ: HVPs and full reorthogonalization against the steps so far
        vectors, steps = spec.protocol.density_vectors, spec.protocol.density_steps
        return Work(vectors * steps, vectors * (steps * 6 * n * P + 2 * steps * steps * P))
    return Work(1, 0.0)  # Q8 beyond the pieces above: a formula


def task_work(spec: TaskSpec, *, n: int, parameters: int, gd_steps: float | None = None) -> dict[str, Work]:
    """The work of each quantity ``spec`` measures, for ``n`` rows and ``parameters`` parameters.

    Q8 counts the pieces of Q1, Q4 and Q6 it needs that were not asked for. Q9 counts ``gd_steps``
    steps (default: the protocol's budget) of one gradient each (for sgd, momentum and adam: one
    over the mini-batch and a loss over all n rows), a checkpoint (Q1, Q4, Q6, Q10) every
    rsc_every steps and a loss-Hessian re-measurement (Q3; twice for adam's preconditioned
    sharpness) every beta_every steps. Flops count double in float64.
    """
    asked = set(spec.protocol.quantities)
    work = {q: _point_work(spec, q, n, parameters) for q in spec.protocol.quantities if q != "Q8"}
    if "Q8" in asked:
        work["Q8"] = sum(
            (_point_work(spec, q, n, parameters) for q in ("Q1", "Q4", "Q6") if q not in asked), Work(1, 0.0)
        )
    protocol = spec.protocol
    if protocol.gd_steps > 0:
        steps = protocol.gd_steps if gd_steps is None else gd_steps
        checkpoint = sum((_point_work(spec, q, n, parameters) for q in CHECKPOINT), Work(0, 0.0))
        measure_beta = _point_work(spec, "Q3", n, parameters) * (2 if protocol.optimizer == "adam" else 1)
        rows = n if protocol.batch_size is None else protocol.batch_size
        per_step = 6 * rows * parameters + (0 if protocol.optimizer == "gd" else 2 * n * parameters)
        work[GD_QUANTITY] = (
            Work(steps, steps * per_step)
            + checkpoint * (steps / protocol.rsc_every + 1)
            + measure_beta * (steps / protocol.beta_every + 1)
        )
    bytes_factor = 2 if spec.dtype == "float64" else 1
    return {q: Work(w.steps, bytes_factor * w.flops) for q, w in work.items()}


def paper_parameters(spec: TaskSpec, d: int, out_dim: int = 1) -> int:
    """Parameters of the paper's network: d m + (L - 1) m^2 + m out_dim."""
    m, depth = spec.model.width, spec.model.depth
    return d * m + (depth - 1) * m * m + m * out_dim


def _device_kind(device: str) -> str:
    return "cuda" if device.startswith("cuda") else "cpu"


def _gd_group(spec: TaskSpec) -> str:
    """The group whose runs share a GD budget fraction: the activation (or factory), and the
    optimizer when it is not gd."""
    group = spec.model.activation if not spec.model.is_factory else spec.model.arch
    return group if spec.protocol.optimizer == "gd" else f"{group}/{spec.protocol.optimizer}"


@dataclass(frozen=True)
class _Sample:
    spec: TaskSpec
    work: dict[str, Work]
    seconds: float
    parts: dict[str, float]
    gd_fraction: float | None


def _fit(rows: list[tuple[list[float], float]], start: list[float]) -> list[float]:
    """Positive coefficients c minimising a Cauchy loss of log(c . x / t) over ``rows`` of (x, t)."""
    X = np.array([x for x, _ in rows], dtype=float)
    t = np.array([seconds for _, seconds in rows], dtype=float)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return np.log(X @ np.exp(theta) + 1e-9) - np.log(t)

    return list(np.exp(least_squares(residuals, np.log(start), loss="cauchy", f_scale=0.3).x))


@dataclass(frozen=True)
class CostModel:
    """Fitted seconds per task for one device kind; see the module docstring.

    ``setup`` seconds per task, ``step`` seconds per step and ``flop`` seconds per flop (shared by
    every quantity without its own fit), ``per_quantity`` (a_q, b_q) fitted from per-quantity
    wall times, ``gd_fraction`` the median fraction of the GD budget run per activation (key
    ``""``: all), ``records`` how many records it was fitted to, ``assumption`` what it rests on.
    """

    device: str
    setup: float
    step: float
    flop: float
    per_quantity: dict[str, tuple[float, float]]
    gd_fraction: dict[str, float]
    records: int
    assumption: str

    def expected_gd_steps(self, spec: TaskSpec) -> float:
        """The GD steps ``spec`` is expected to run: its budget times the calibrated fraction."""
        fraction = self.gd_fraction.get(_gd_group(spec), self.gd_fraction.get("", 1.0))
        return spec.protocol.gd_steps * fraction

    def quantity_seconds(self, spec: TaskSpec, *, n: int, parameters: int) -> dict[str, float]:
        """Estimated seconds of each part of ``spec`` (``setup`` and each quantity)."""
        gd = self.expected_gd_steps(spec) if spec.protocol.gd_steps else None
        work = task_work(spec, n=n, parameters=parameters, gd_steps=gd)
        seconds = {SETUP: self.setup}
        for quantity, amount in work.items():
            step, flop = self.per_quantity.get(fit_key(spec, quantity), (self.step, self.flop))
            seconds[quantity] = step * amount.steps + flop * amount.flops
        return seconds

    def seconds(self, spec: TaskSpec, *, n: int, parameters: int) -> float:
        """Estimated wall seconds of ``spec`` with ``n`` rows and ``parameters`` parameters."""
        return sum(self.quantity_seconds(spec, n=n, parameters=parameters).values())

    def for_device(self, device: str) -> CostModel:
        """This model for ``device``: itself for its own kind, else the assumed GPU (see module doc)."""
        if _device_kind(device) == self.device:
            return self
        if self.device != "cpu":
            raise RscbenchError(
                f"no cost model for device {device!r}: only {self.device} records calibrate it"
            )
        speedup = ASSUMED_GPU_SPEEDUP
        return CostModel(
            "cuda",
            self.setup,
            self.step,
            self.flop / speedup,
            {q: (step, flop / speedup) for q, (step, flop) in self.per_quantity.items()},
            self.gd_fraction,
            self.records,
            f"assumed (no CUDA record to calibrate on): a GPU with this CPU's per-step overhead running "
            f"the flops {speedup:g}x faster than this CPU ({self.assumption})",
        )


def _samples(records: Iterable[TaskRecord], kind: str) -> list[_Sample]:
    samples = []
    for record in records:
        if record.status != "ok" or _device_kind(record.device) != kind or record.wall_seconds <= 0:
            continue
        try:
            spec = TaskSpec.from_dict(record.spec)
        except RscbenchError:  # a record of an older spec layout: not a calibration point
            continue
        n, parameters = record.metrics.get("n"), record.metrics.get("parameters")
        if not isinstance(n, int) or not isinstance(parameters, int):
            continue
        gd = len(record.trajectory) - 1 if spec.protocol.gd_steps and record.trajectory else None
        work = task_work(spec, n=n, parameters=parameters, gd_steps=gd)
        fraction = None if gd is None else gd / spec.protocol.gd_steps
        samples.append(_Sample(spec, work, record.wall_seconds, record.quantity_seconds, fraction))
    return samples


def _gd_fractions(samples: list[_Sample]) -> dict[str, float]:
    """Median fraction of the training budget run, per group (:func:`_gd_group`) and over all (key "")."""
    runs: dict[str, list[float]] = {}
    for sample in samples:
        if sample.gd_fraction is not None:
            runs.setdefault(_gd_group(sample.spec), []).append(sample.gd_fraction)
            runs.setdefault("", []).append(sample.gd_fraction)
    return {group: statistics.median(values) for group, values in runs.items()}


def calibrate(records: Iterable[TaskRecord], device: str = "cpu") -> CostModel | None:
    """The cost model of ``device``'s kind fitted to ``records`` (ok ones of that kind), or None when
    fewer than MIN_RECORDS qualify."""
    kind = _device_kind(device)
    samples = _samples(records, kind)
    if len(samples) < MIN_RECORDS:
        return None
    totals = [
        ([1.0, sum(w.steps for w in s.work.values()), sum(w.flops for w in s.work.values())], s.seconds)
        for s in samples
    ]
    setup, step, flop = _fit(totals, [0.05, 1e-3, 1e-10])
    per_quantity = {}
    rows_by_key: dict[str, list[tuple[list[float], float]]] = {}
    for s in samples:
        for quantity, work in s.work.items():
            if s.parts.get(quantity, 0) > 0:
                row = ([work.steps, work.flops], s.parts[quantity])
                rows_by_key.setdefault(fit_key(s.spec, quantity), []).append(row)
    for key, rows in sorted(rows_by_key.items()):
        if len(rows) >= MIN_RECORDS:
            per_quantity[key] = tuple(_fit(rows, [step, flop]))
    setups = [s.parts[SETUP] for s in samples if s.parts.get(SETUP, 0) > 0]
    if len(setups) >= MIN_RECORDS:
        setup = statistics.median(setups)
    timed = sorted(per_quantity)
    assumption = f"fitted to {len(samples)} measured {kind} records" + (
        f" (per-quantity times for {', '.join(timed)})" if timed else " (task totals)"
    )
    return CostModel(kind, setup, step, flop, per_quantity, _gd_fractions(samples), len(samples), assumption)


REPORT_TASK_EXTRAS = ("regime", "regime_labels")
"""Fields a report (schema 4) adds to each task beside its stored record: derived, not record fields."""


def _report_records(path: Path) -> list[TaskRecord]:
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return []
    records = []
    for task in document.get("tasks", []):
        try:
            fields = {key: value for key, value in task.items() if key not in REPORT_TASK_EXTRAS}
            records.append(TaskRecord.from_dict(fields))
        except RscbenchError:
            continue
    return records


def calibration_records(
    *, reports_root: str | Path | None = "reports", store_paths: Iterable[str | Path] = ()
) -> list[TaskRecord]:
    """Measured records to calibrate on: every task of the reports under ``reports_root``
    (``<suite>/<report>/report.json``) and of each existing store in ``store_paths``."""
    records: list[TaskRecord] = []
    if reports_root is not None:
        for path in sorted(Path(reports_root).glob("*/*/report.json")):
            records.extend(_report_records(path))
    for store_path in store_paths:
        if Path(store_path).is_file():
            with ResultStore(store_path) as store:
                records.extend(store.records())
    return records
