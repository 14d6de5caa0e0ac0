"""Regime labels of a task, read from its records (docs/verdicts.md, "Regime labels").

A task's labels say which regime its measurements put it in:

- ``divergent``: the task's status is "diverged" (GD diverged, or the outputs at init were not finite);
- ``no-progress``: the loss ratio L_T / L_0 at the step budget is above NO_PROGRESS_RATIO;
- ``edge-of-stability``: the sharpness eta lambda_max(H) reached EDGE_OF_STABILITY at some
  re-measurement of beta;
- ``certified-at-init``: the Q6 certificate holds at theta_0 (the init snapshot or GD's t = 0
  checkpoint);
- ``certified-along-gd``: at least CERTIFIED_FRACTION of the checkpoints after t = 0 are certified
  (V4's bar);
- ``lazy``: the relative NTK drift ||K_T - K_0||_F / ||K_0||_F is below LAZY_DRIFT;
- ``uncertified``: the certificate was measured (at init or along GD) and none of the two
  certified labels applies;
- ``unmeasured``: the records hold none of the quantities above (or the task failed).

A task may carry several labels (lazy and certified along GD, say); ``primary`` is the first of
them in REGIME_LABELS, the one a regime map colours a cell by.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CERTIFIED_FRACTION",
    "EDGE_OF_STABILITY",
    "LAZY_DRIFT",
    "NO_PROGRESS_RATIO",
    "REGIME_LABELS",
    "TaskRegime",
    "task_regime",
]

LAZY_DRIFT = 0.1
"""Relative NTK drift below which training was lazy (the NTK barely moved)."""
EDGE_OF_STABILITY = 1.9
"""Sharpness eta lambda_max(H) from which a run sits at the edge of stability (2 is the edge)."""
NO_PROGRESS_RATIO = 0.1
"""Loss ratio L_T / L_0 at the budget above which a run made no progress."""
CERTIFIED_FRACTION = 0.95
"""Share of the checkpoints after t = 0 that must be certified for "certified-along-gd" (V4's bar)."""

REGIME_LABELS: tuple[str, ...] = (
    "divergent",
    "no-progress",
    "edge-of-stability",
    "certified-at-init",
    "certified-along-gd",
    "lazy",
    "uncertified",
    "unmeasured",
)
"""Every label, in the order that picks a task's primary one (its first label in this order)."""


@dataclass(frozen=True)
class TaskRegime:
    """The labels of one task (in REGIME_LABELS order, never empty) and its primary label."""

    labels: tuple[str, ...]

    @property
    def primary(self) -> str:
        """The first label in REGIME_LABELS: the one a regime map shows."""
        return self.labels[0]

    @property
    def joined(self) -> str:
        """The labels joined by "+" (the form results.csv and report.json carry)."""
        return "+".join(self.labels)


def _number(metrics: Mapping[str, Any], key: str) -> float | None:
    """The metric as a float, None when absent, None, a bool or not finite."""
    value = metrics.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _flag(metrics: Mapping[str, Any], key: str) -> bool | None:
    """The metric as a bool (stored as bool or 0/1), None when absent."""
    value = metrics.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return bool(value)
    return None


def task_regime(status: str, metrics: Mapping[str, Any]) -> TaskRegime:
    """The regime labels of a task with outcome ``status`` and scalar ``metrics`` (a record's metrics:
    ``rsc_holds`` at init, and GD's ``gd_final_loss_ratio``, ``gd_sharpness_max``,
    ``gd_rsc_certified_at_init``, ``gd_rsc_certified_fraction``, ``gd_ntk_drift``)."""
    found: set[str] = set()
    if status == "diverged":
        found.add("divergent")
    elif status == "ok":
        ratio = _number(metrics, "gd_final_loss_ratio")
        if ratio is not None and ratio > NO_PROGRESS_RATIO:
            found.add("no-progress")
        sharpness = _number(metrics, "gd_sharpness_max")
        if sharpness is not None and sharpness >= EDGE_OF_STABILITY:
            found.add("edge-of-stability")
        at_init = [_flag(metrics, key) for key in ("rsc_holds", "gd_rsc_certified_at_init")]
        fraction = _number(metrics, "gd_rsc_certified_fraction")
        if any(at_init):
            found.add("certified-at-init")
        if fraction is not None and fraction >= CERTIFIED_FRACTION:
            found.add("certified-along-gd")
        measured = any(flag is not None for flag in at_init) or fraction is not None
        if measured and not found & {"certified-at-init", "certified-along-gd"}:
            found.add("uncertified")
        drift = _number(metrics, "gd_ntk_drift")
        if drift is not None and drift < LAZY_DRIFT:
            found.add("lazy")
    if not found:
        found.add("unmeasured")
    return TaskRegime(tuple(label for label in REGIME_LABELS if label in found))
