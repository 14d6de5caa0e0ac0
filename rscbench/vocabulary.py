"""The names every layer agrees on: quantities, losses, devices, dtypes and the factory reference form.

Specs validate against these names and the kernels implement them, so neither needs to import the
other; tests check that each registry of implementations (losses, quantities measured at a point)
covers exactly these names.
"""

from __future__ import annotations

import re

__all__ = ["DEVICES", "DTYPES", "FACTORY_REFERENCE", "LOSS_NAMES", "QUANTITIES"]

QUANTITIES: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "Q6", "Q7", "Q8", "Q10")
"""Quantities measured at a parameter point (docs/science.md); Q5 defines the cone and Q9 (GD) runs
when a task's gd_steps > 0."""

LOSS_NAMES: tuple[str, ...] = ("square", "logistic", "cross_entropy")
"""The training losses, in registry order."""

DEVICES: tuple[str, ...] = ("cpu", "cuda")
DTYPES: tuple[str, ...] = ("float32", "float64")

FACTORY_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
"""A user's model factory, ``module:function`` (rscbench.models.factories)."""
