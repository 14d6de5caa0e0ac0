"""The names every layer agrees on: quantities, losses, devices, dtypes and the factory reference form.

Specs validate against these names and the kernels implement them, so neither needs to import the
other; tests check that each registry of implementations (losses, quantities measured at a point)
covers exactly these names.
"""

from __future__ import annotations

import re

__all__ = [
    "DEFAULT_QUANTITIES",
    "DEVICES",
    "DTYPES",
    "FACTORY_REFERENCE",
    "GD_QUANTITY",
    "LOSS_NAMES",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "QUANTITIES",
    "QUANTITY_NAMES",
    "SELECTABLE_QUANTITIES",
    "quantity_code",
]

QUANTITIES: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "Q6", "Q7", "Q8", "Q10", "Q11", "Q12")
"""Quantities measured at a parameter point (docs/science.md); Q5 defines the cone and Q9 (GD) runs
when a task's gd_steps > 0."""

DEFAULT_QUANTITIES: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "Q6", "Q7", "Q8", "Q10")
"""What a task measures at a point unless told otherwise: every point quantity but the stochastic
trace (Q11) and spectral density (Q12) of the loss Hessian, which are asked for by name."""

GD_QUANTITY = "Q9"
"""Gradient descent: selectable like the others, and run exactly when a task's gd_steps > 0."""

SELECTABLE_QUANTITIES: tuple[str, ...] = (
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "Q6",
    "Q7",
    "Q8",
    GD_QUANTITY,
    "Q10",
    "Q11",
    "Q12",
)
"""Every quantity a task may ask for, by code, in docs/science.md order."""

QUANTITY_NAMES: dict[str, str] = {
    "Q1": "predictor_hessian",
    "Q2": "hessian_blocks",
    "Q3": "loss_hessian",
    "Q4": "average_gradient",
    "Q6": "rsc_certificate",
    "Q7": "secant",
    "Q8": "theorem_alpha",
    GD_QUANTITY: "gradient_descent",
    "Q10": "ntk",
    "Q11": "hessian_trace",
    "Q12": "hessian_density",
}
"""The name of each selectable quantity (accepted wherever its code is)."""

LOSS_NAMES: tuple[str, ...] = ("square", "logistic", "cross_entropy")
"""The training losses, in registry order."""

OPTIMIZERS: tuple[str, ...] = ("gd", "sgd", "momentum", "adam")
"""The protocol's training rules: the theorem's full-batch GD with eta = omega / beta_hat, and plain
SGD, heavy-ball momentum SGD and Adam with a given learning rate (docs/suites.md)."""

LR_SCHEDULES: tuple[str, ...] = ("constant", "step", "cosine")
"""Learning-rate schedules of the sgd, momentum and adam optimizers (rscbench.measure.optimizers)."""

DEVICES: tuple[str, ...] = ("cpu", "cuda")
DTYPES: tuple[str, ...] = ("float32", "float64")

FACTORY_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
"""A user's model factory, ``module:function`` (rscbench.models.factories)."""

_BY_NAME = {name: code for code, name in QUANTITY_NAMES.items()}


def quantity_code(value: object) -> str | None:
    """The code (``Q1``..``Q12``) of a quantity written as its code or its name, in any case, with ``-``
    or ``_`` between words (``q1``, ``predictor-hessian``); None when it names no selectable quantity."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.upper() in SELECTABLE_QUANTITIES:
        return text.upper()
    return _BY_NAME.get(text.lower().replace("-", "_"))
