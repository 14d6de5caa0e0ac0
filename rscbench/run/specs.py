"""Task specifications: frozen, validated dataclasses, their canonical form and content-hash id.

A task is one fully specified measurement (docs/suites.md): model, data, loss, protocol, seed,
device and dtype. Every field is validated on construction and an error names the field, the bad
value and what is allowed. The task id is a hash of the canonical form plus MEASUREMENT_VERSION,
so a changed protocol or measurement code never reuses stale results, and two specs that differ
only in how they were written (flag order, int vs float) get the same id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from rscbench.data import dataset_spec
from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.models.activations import ACTIVATIONS
from rscbench.validation import MAX_INTEGER
from rscbench.vocabulary import (
    DEFAULT_QUANTITIES,
    DEVICES,
    DTYPES,
    FACTORY_REFERENCE,
    GD_QUANTITY,
    LOSS_NAMES,
    LR_SCHEDULES,
    OPTIMIZERS,
    QUANTITIES,
    QUANTITY_NAMES,
    SELECTABLE_QUANTITIES,
    quantity_code,
)

__all__ = [
    "DEVICES",
    "DTYPES",
    "LATER_FIELDS",
    "MEASUREMENT_VERSION",
    "OPTIMIZER_FIELDS",
    "QUANTITIES",
    "QUANTITY_CHOICES",
    "DataSpec",
    "ModelSpec",
    "ProtocolSpec",
    "TaskSpec",
    "flat_fields",
    "flat_values",
    "task_from_flat",
]

# "2": the mnist1d dataset is the reference MNIST-1D of the `mnist1d` package, and Q1-Q3, Q6 and
# GD's beta_hat are computed by thick-restart Lanczos with Kato-Temple stopping (Q3 and Q6 in the
# structured subspace of the paper's network): the same quantities within their tolerance.
MEASUREMENT_VERSION = "2"
"""Bump when any measurement's numbers change: every task id changes with it."""

ARCHITECTURES = ("paper_mlp",)
"""Built-in architectures; a user's factory ``module:function`` (FACTORY_REFERENCE) is also valid."""


def _integer(section: str, name: str, value: Any, minimum: int) -> None:
    require_integer(f"{section}.{name}", value, minimum, MAX_INTEGER)


def _number(section: str, name: str, value: Any, allowed: str, test) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not test(value)
    ):
        raise InvalidArgumentError(f"{section}.{name}", value, allowed)


def _choice(section: str, name: str, value: Any, choices) -> None:
    if value not in choices:
        raise InvalidArgumentError(f"{section}.{name}", value, "one of " + ", ".join(choices))


@dataclass(frozen=True)
class ModelSpec:
    """The network: the paper's MLP of ``depth`` hidden layers of ``width`` units (docs/science.md).

    ``arch`` is "paper_mlp" or a user's factory ``module:function`` (rscbench.models.factories), called
    with the width and depth; a factory builds its own layers and initialization, so ``activation``,
    ``sigma1`` and ``scale_input`` keep their defaults for it (they would not change what is measured).
    """

    arch: str = "paper_mlp"
    width: int = 256
    depth: int = 2
    activation: str = "tanh"
    sigma1: float = 1.0
    scale_input: bool = True

    def __post_init__(self) -> None:
        if not (
            self.arch in ARCHITECTURES
            or (isinstance(self.arch, str) and FACTORY_REFERENCE.fullmatch(self.arch))
        ):
            raise InvalidArgumentError("model.arch", self.arch, "paper_mlp or a factory module:function")
        _integer("model", "width", self.width, 1)
        _integer("model", "depth", self.depth, 1)
        _choice("model", "activation", self.activation, tuple(ACTIVATIONS))
        _number("model", "sigma1", self.sigma1, "a finite number > 0", lambda v: v > 0)
        if not isinstance(self.scale_input, bool):
            raise InvalidArgumentError("model.scale_input", self.scale_input, "true or false")
        if self.is_factory:
            for name in ("activation", "sigma1", "scale_input"):
                default = getattr(ModelSpec, name)
                if getattr(self, name) != default:
                    raise InvalidArgumentError(
                        f"model.{name}",
                        getattr(self, name),
                        f"{default!r} with arch={self.arch!r} (a factory builds its own layers)",
                    )

    @property
    def is_factory(self) -> bool:
        """Whether ``arch`` names a user's factory (``module:function``) rather than the paper's network."""
        return self.arch not in ARCHITECTURES


@dataclass(frozen=True)
class DataSpec:
    """The training set: a registered dataset (or ``npz:PATH``), its size, dimension and seed.

    ``n``/``d``/``targets`` set to None take the dataset's defaults (rscbench.data.DATASETS);
    ``d`` is free only for generated datasets.
    """

    dataset: str = "sphere"
    n: int | None = 64
    d: int | None = None
    dataset_seed: int = 0
    targets: str | None = None

    def __post_init__(self) -> None:
        spec = dataset_spec(self.dataset)
        for name in ("n", "d"):
            if getattr(self, name) is not None:
                _integer("data", name, getattr(self, name), 1)
        if self.d is not None and not spec.free_d:
            raise InvalidArgumentError("data.d", self.d, f"unset for {spec.usage} (its native dimension)")
        _integer("data", "dataset_seed", self.dataset_seed, 0)
        if self.targets is not None:
            _choice("data", "targets", self.targets, spec.targets)


@dataclass(frozen=True)
class ProtocolSpec:
    """What to measure and how: probes, the cone, tolerances and the training protocol (Q1-Q12).

    ``quantities`` may name each quantity by code or by name (rscbench.vocabulary.QUANTITY_NAMES);
    it is stored as the codes of the quantities measured at a point, in docs/science.md order. Q9
    (training) runs exactly when ``gd_steps`` > 0: naming it is allowed then (and then the point
    quantities may be empty), refused with ``gd_steps = 0``, and it is not stored, so a task
    written with or without it has one id. ``gd_steps = 0`` measures at initialization only.
    Q11 (Hutch++ trace of the loss Hessian) takes ``trace_products`` Hessian-vector products; Q12
    (its spectral density by stochastic Lanczos quadrature) ``density_vectors`` starts of
    ``density_steps`` Lanczos steps.

    ``optimizer`` "gd" is the theorem's full-batch GD: eta = omega / beta_hat with beta_hat
    re-measured every ``beta_every`` steps (and after any step that increased the loss); it keeps
    ``lr``, ``batch_size``, ``lr_schedule`` and ``momentum`` at their defaults. "sgd", "momentum"
    (heavy ball, ``momentum`` its coefficient) and "adam" (``momentum`` its beta1) train for
    ``gd_steps`` steps with learning rate ``lr`` under ``lr_schedule``, on mini-batches of
    ``batch_size`` rows (None: the full batch), and keep ``omega`` at its default. Every optimizer
    stops at loss <= target_ratio * L(theta_0), measures the loss Hessian every ``beta_every``
    steps and records Q1/Q4/Q6/Q8/Q10 every ``rsc_every`` steps.
    """

    quantities: tuple[str, ...] = DEFAULT_QUANTITIES
    probes: int = 16
    kappa: float = 0.5
    rho2: float = 1.0
    tol: float = 1e-3
    secant_samples: int = 16
    gd_steps: int = 0
    omega: float = 1.0
    target_ratio: float = 1e-3
    beta_every: int = 10
    rsc_every: int = 10
    trace_products: int = 99
    density_vectors: int = 8
    density_steps: int = 64
    optimizer: str = "gd"
    lr: float | None = None
    batch_size: int | None = None
    lr_schedule: str = "constant"
    momentum: float = 0.9

    def __post_init__(self) -> None:
        _integer("protocol", "gd_steps", self.gd_steps, 0)
        object.__setattr__(self, "quantities", _quantity_codes(self.quantities, self.gd_steps))
        _integer("protocol", "probes", self.probes, 1)
        _number("protocol", "kappa", self.kappa, "a number in (0, 1]", lambda v: 0 < v <= 1)
        _number("protocol", "rho2", self.rho2, "a finite number > 0", lambda v: v > 0)
        _number("protocol", "tol", self.tol, "a number in (0, 0.1]", lambda v: 0 < v <= 0.1)
        _integer("protocol", "secant_samples", self.secant_samples, 1)
        _number("protocol", "omega", self.omega, "a number in (0, 2)", lambda v: 0 < v < 2)
        _number("protocol", "target_ratio", self.target_ratio, "a number in (0, 1)", lambda v: 0 < v < 1)
        _integer("protocol", "beta_every", self.beta_every, 1)
        _integer("protocol", "rsc_every", self.rsc_every, 1)
        _integer("protocol", "trace_products", self.trace_products, 5)
        _integer("protocol", "density_vectors", self.density_vectors, 1)
        _integer("protocol", "density_steps", self.density_steps, 1)
        _check_optimizer(self)

    @property
    def measured(self) -> tuple[str, ...]:
        """Every quantity this protocol measures: the point quantities, and Q9 when gd_steps > 0."""
        gd = (GD_QUANTITY,) if self.gd_steps > 0 else ()
        return tuple(q for q in SELECTABLE_QUANTITIES if q in self.quantities or q in gd)


OPTIMIZER_FIELDS = ("lr", "batch_size", "lr_schedule", "momentum")
"""The fields of the sgd, momentum and adam optimizers; gd keeps them at their defaults."""
LATER_FIELDS = ("trace_products", "density_vectors", "density_steps", "optimizer", *OPTIMIZER_FIELDS)
"""Protocol fields added after the canonical form was fixed: left out of it at their defaults, so the
id of a task that leaves them there is the id it had before they existed."""


def _check_optimizer(protocol: ProtocolSpec) -> None:
    """Validate the optimizer and its fields against each other (see ProtocolSpec)."""
    _choice("protocol", "optimizer", protocol.optimizer, OPTIMIZERS)
    _choice("protocol", "lr_schedule", protocol.lr_schedule, LR_SCHEDULES)
    name = protocol.optimizer
    if name == "gd":
        for key in OPTIMIZER_FIELDS:
            default = getattr(ProtocolSpec, key)
            if getattr(protocol, key) != default:
                raise InvalidArgumentError(
                    f"protocol.{key}",
                    getattr(protocol, key),
                    f"{default!r} with optimizer='gd' (its step is omega / beta_hat on the full batch); "
                    "an optimizer of sgd, momentum or adam takes it",
                )
        return
    with_name = f"with optimizer={name!r}"
    if protocol.gd_steps == 0:
        raise InvalidArgumentError(
            "protocol.optimizer", name, "gd with gd_steps = 0 (an optimizer trains for gd_steps > 0 steps)"
        )
    if protocol.lr is None:
        raise InvalidArgumentError("protocol.lr", None, f"a finite number > 0 {with_name}")
    _number("protocol", "lr", protocol.lr, f"a finite number > 0 {with_name}", lambda v: v > 0)
    if protocol.omega != ProtocolSpec.omega:
        raise InvalidArgumentError(
            "protocol.omega",
            protocol.omega,
            f"{ProtocolSpec.omega!r} {with_name} (omega sets gd's step only)",
        )
    if protocol.batch_size is not None:
        _integer("protocol", "batch_size", protocol.batch_size, 1)
    if name == "sgd" and protocol.momentum != ProtocolSpec.momentum:
        raise InvalidArgumentError(
            "protocol.momentum",
            protocol.momentum,
            f"{ProtocolSpec.momentum!r} with optimizer='sgd' (plain SGD has none; use optimizer='momentum')",
        )
    _number("protocol", "momentum", protocol.momentum, "a number in [0, 1)", lambda v: 0 <= v < 1)


QUANTITY_CHOICES = ", ".join(f"{code} ({QUANTITY_NAMES[code]})" for code in SELECTABLE_QUANTITIES)
"""The allowed quantities as an error message or help text lists them."""


def _quantity_codes(values: object, gd_steps: int) -> tuple[str, ...]:
    """The point quantities of ``values`` (codes or names) as codes in vocabulary order; see ProtocolSpec."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not (values or gd_steps > 0):
        raise InvalidArgumentError(
            "protocol.quantities", values, "a non-empty list of quantities: " + QUANTITY_CHOICES
        )
    codes = set()
    for value in values:
        code = quantity_code(value)
        if code is None:
            raise InvalidArgumentError("protocol.quantities", value, "one of " + QUANTITY_CHOICES)
        codes.add(code)
    if GD_QUANTITY in codes and gd_steps == 0:
        raise InvalidArgumentError(
            "protocol.quantities",
            GD_QUANTITY,
            f"{GD_QUANTITY} ({QUANTITY_NAMES[GD_QUANTITY]}) only with gd_steps > 0 (it runs that many steps)",
        )
    return tuple(q for q in QUANTITIES if q in codes)


@dataclass(frozen=True)
class TaskSpec:
    """One fully specified measurement; ``task_id`` is its content hash (with MEASUREMENT_VERSION)."""

    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    loss: str = "square"
    protocol: ProtocolSpec = field(default_factory=ProtocolSpec)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        _choice("task", "loss", self.loss, LOSS_NAMES)
        _integer("task", "seed", self.seed, 0)
        _choice("task", "device", self.device, DEVICES)
        _choice("task", "dtype", self.dtype, DTYPES)
        if self.loss == "cross_entropy" and self.model.is_factory:
            raise InvalidArgumentError(
                "task.loss", self.loss, "square or logistic for a factory model (one output per input)"
            )
        if self.loss == "cross_entropy" and self.protocol.gd_steps > 0:
            raise InvalidArgumentError(
                "task.loss", self.loss, "square or logistic when protocol.gd_steps > 0"
            )
        batch, n = self.protocol.batch_size, self.data.n
        if batch is not None and n is not None and batch > n:
            raise InvalidArgumentError("protocol.batch_size", batch, f"an integer in [1, n = {n}]")

    def canonical(self) -> dict[str, Any]:
        """The spec as a plain dict with floats normalized, sections and keys in a fixed order; the
        LATER_FIELDS of the protocol appear only where they differ from their defaults."""
        values = _normalize(dataclasses.asdict(self))
        protocol = values["protocol"]
        for name in LATER_FIELDS:
            if protocol[name] == getattr(ProtocolSpec, name):
                del protocol[name]
        return values

    @property
    def task_id(self) -> str:
        """16 hex digits of sha256 over the canonical JSON and MEASUREMENT_VERSION."""
        text = json.dumps(
            {"spec": self.canonical(), "measurement_version": MEASUREMENT_VERSION}, sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TaskSpec:
        """Rebuild a spec from ``canonical()`` output (or any dict of the same shape), validating it."""
        sections = {"model": ModelSpec, "data": DataSpec, "protocol": ProtocolSpec}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InvalidArgumentError("task", sorted(unknown)[0], "fields " + ", ".join(sorted(known)))
        arguments = dict(values)
        for name, section in sections.items():
            if name in arguments:
                arguments[name] = _build(section, name, arguments[name])
        return cls(**arguments)


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _normalize(item) for key, item in value.items()}
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return float(value)
    return value


def _build(section, name: str, values: Any):
    if isinstance(values, section):
        return values
    if not isinstance(values, dict):
        raise InvalidArgumentError(name, values, f"a table of {name} fields")
    known = {f.name: f for f in dataclasses.fields(section)}
    unknown = set(values) - set(known)
    if unknown:
        bad = sorted(unknown)[0]
        raise InvalidArgumentError(f"{name}.{bad}", values[bad], "fields " + ", ".join(known))
    converted = {key: _coerce(known[key], item) for key, item in values.items()}
    return section(**converted)


def _coerce(spec_field: dataclasses.Field, value: Any) -> Any:
    """Accept an int where a float is expected (TOML and JSON write 1 for 1.0)."""
    floats = ("float", float, "float | None")
    if spec_field.type in floats and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def flat_fields() -> dict[str, tuple[str | None, dataclasses.Field]]:
    """Every task field by its flat name (``width``, ``kappa``, ``seed``...): (section or None, field)."""
    flat: dict[str, tuple[str | None, dataclasses.Field]] = {}
    for outer in dataclasses.fields(TaskSpec):
        section = {"model": ModelSpec, "data": DataSpec, "protocol": ProtocolSpec}.get(outer.name)
        if section is None:
            flat[outer.name] = (None, outer)
        else:
            for inner in dataclasses.fields(section):
                flat[inner.name] = (outer.name, inner)
    return flat


def flat_values(spec: TaskSpec) -> dict[str, Any]:
    """Every field of ``spec`` by its flat name (the inverse of :func:`task_from_flat`)."""
    return {
        name: getattr(getattr(spec, section) if section else spec, name)
        for name, (section, _) in flat_fields().items()
    }


def task_from_flat(values: dict[str, Any]) -> TaskSpec:
    """Build a TaskSpec from flat field names (as the CLI and suite grids write them)."""
    fields = flat_fields()
    nested: dict[str, Any] = {"model": {}, "data": {}, "protocol": {}}
    for name, value in values.items():
        if name not in fields:
            raise InvalidArgumentError("task field", name, "one of " + ", ".join(fields))
        section, _ = fields[name]
        if section is None:
            nested[name] = value
        else:
            nested[section][name] = value
    return TaskSpec.from_dict(nested)
