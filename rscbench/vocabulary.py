"""The names every layer agrees on: quantities, losses, devices, dtypes and the factory reference form.

Specs validate against these names and the kernels implement them, so neither needs to import the
other; tests check that each registry of implementations (losses, quantities measured at a point)
covers exactly these names.
"""

from __future__ import annotations

import re

__all__ = [
    "DEVICES",
    "DTYPES",
    "FACTORY_REFERENCE",
    "GD_QUANTITY",
    "LOSS_NAMES",
    "QUANTITIES",
    "QUANTITY_NAMES",
    "SELECTABLE_QUANTITIES",
    "quantity_code",
]

QUANTITIES: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "Q6", "Q7", "Q8", "Q10")
"""Quantities measured at a parameter point (docs/science.md); Q5 defines the cone and Q9 (GD) runs
when a task's gd_steps > 0."""

GD_QUANTITY = "Q9"
"""Gradient descent: selectable like the others, and run exactly when a task's gd_steps > 0."""

SELECTABLE_QUANTITIES: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "Q6", "Q7", "Q8", GD_QUANTITY, "Q10")
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
}
"""The name of each selectable quantity (accepted wherever its code is)."""

LOSS_NAMES: tuple[str, ...] = ("square", "logistic", "cross_entropy")
"""The training losses, in registry order."""

DEVICES: tuple[str, ...] = ("cpu", "cuda")
DTYPES: tuple[str, ...] = ("float32", "float64")

FACTORY_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
"""A user's model factory, ``module:function`` (rscbench.models.factories)."""

_BY_NAME = {name: code for code, name in QUANTITY_NAMES.items()}


def quantity_code(value: object) -> str | None:
    """The code (``Q1``..``Q10``) of a quantity written as its code or its name, in any case, with ``-``
    or ``_`` between words (``q1``, ``predictor-hessian``); None when it names no selectable quantity."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.upper() in SELECTABLE_QUANTITIES:
        return text.upper()
    return _BY_NAME.get(text.lower().replace("-", "_"))
