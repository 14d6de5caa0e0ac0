"""Regime labels of a task, read from its records (docs/verdicts.md, "Regime labels").

A task's labels say which regime its measurements put it in:

- ``divergent``: the task's status is "diverged" (GD diverged, or the outputs at init were not finite);
- ``no-progress``: the loss ratio L_T / L_0 at the end of the run is above NO_PROGRESS_RATIO (V7's bar);
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
them in REGIME_LABELS, the one a regime map colours a cell by. A run of the training monitor
(rscbench.monitor) is read from its ``train_*`` summaries where a suite's task has ``gd_*`` metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rscbench.analysis.verdicts.descent import NO_PROGRESS_RATIO, V4_FRACTION

__all__ = [
    "CERTIFIED_FRACTION",
    "EDGE_OF_STABILITY",
    "LAZY_DRIFT",
    "NO_PROGRESS_RATIO",
    "REGIME_LABELS",
    "TaskRegime",
    "regime_table",
    "task_regime",
]

LAZY_DRIFT = 0.1
"""Relative NTK drift below which training was lazy (the NTK barely moved)."""
EDGE_OF_STABILITY = 1.9
"""Sharpness eta lambda_max(H) from which a run sits at the edge of stability (2 is the edge)."""
CERTIFIED_FRACTION = V4_FRACTION
"""Share of the checkpoints after t = 0 that must be certified for "certified-along-gd" (V4's bar).
NO_PROGRESS_RATIO, the loss ratio above which a run made no progress, is V7's (both from
rscbench.analysis.verdicts.descent, so a label and a verdict never judge by different bars)."""

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


# What each label reads: a suite task's metric, then the training monitor's summary of the same.
_LOSS_RATIO = ("gd_final_loss_ratio", "train_loss_ratio")
_SHARPNESS = ("gd_sharpness_max", "train_sharpness_max")
_FRACTION = ("gd_rsc_certified_fraction", "train_rsc_certified_fraction")
_DRIFT = ("gd_ntk_drift", "train_ntk_drift")
_AT_INIT = ("rsc_holds", "gd_rsc_certified_at_init")
_READ = (*_LOSS_RATIO, *_SHARPNESS, *_FRACTION, *_DRIFT, *_AT_INIT)


def _plain(value: Any) -> Any:
    """A metric value as plain Python: numpy scalars unwrapped, pandas' missing value as None."""
    if value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _number(metrics: Mapping[str, Any], keys: tuple[str, ...]) -> float | None:
    """The first of ``keys`` the metrics hold as a number (not a bool, not NaN; an infinite one is past
    every threshold), as a float; else None."""
    for key in keys:
        value = _plain(metrics.get(key))
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
            return float(value)
    return None


def _flag(metrics: Mapping[str, Any], key: str) -> bool | None:
    """The metric as a bool (stored as bool or 0/1), None when absent or not finite."""
    value = _plain(metrics.get(key))
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return bool(value)
    return None


def task_regime(status: str, metrics: Mapping[str, Any]) -> TaskRegime:
    """The regime labels of a task with outcome ``status`` and scalar ``metrics`` (a record's metrics:
    ``rsc_holds`` at init, and GD's ``gd_final_loss_ratio``, ``gd_sharpness_max``,
    ``gd_rsc_certified_at_init``, ``gd_rsc_certified_fraction``, ``gd_ntk_drift``, or the training
    monitor's ``train_loss_ratio``, ``train_sharpness_max``, ``train_rsc_certified_fraction``,
    ``train_ntk_drift``). Values may be Python, numpy or pandas scalars; missing, None, NaN or
    text values count as not measured."""
    found: set[str] = set()
    if status == "diverged":
        found.add("divergent")
    elif status == "ok":
        ratio = _number(metrics, _LOSS_RATIO)
        if ratio is not None and ratio > NO_PROGRESS_RATIO:
            found.add("no-progress")
        sharpness = _number(metrics, _SHARPNESS)
        if sharpness is not None and sharpness >= EDGE_OF_STABILITY:
            found.add("edge-of-stability")
        at_init = [_flag(metrics, key) for key in _AT_INIT]
        fraction = _number(metrics, _FRACTION)
        if any(at_init):
            found.add("certified-at-init")
        if fraction is not None and fraction >= CERTIFIED_FRACTION:
            found.add("certified-along-gd")
        measured = any(flag is not None for flag in at_init) or fraction is not None
        if measured and not found & {"certified-at-init", "certified-along-gd"}:
            found.add("uncertified")
        drift = _number(metrics, _DRIFT)
        if drift is not None and drift < LAZY_DRIFT:
            found.add("lazy")
    if not found:
        found.add("unmeasured")
    return TaskRegime(tuple(label for label in REGIME_LABELS if label in found))


def regime_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The labels of every task of a store frame (ResultStore.to_frame(): ``task_id``, ``status`` and
    ``metric.*`` columns), in the frame's order: ``task_id``, ``regime`` (the primary label) and
    ``regime_labels`` (every label, joined by "+")."""
    columns = [f"metric.{key}" for key in _READ if f"metric.{key}" in frame]
    values = frame[columns].rename(columns=lambda c: c.removeprefix("metric.")).to_dict("records")
    regimes = [task_regime(status, row) for status, row in zip(frame["status"], values, strict=True)]
    return pd.DataFrame(
        {
            "task_id": frame["task_id"].to_numpy(),
            "regime": [regime.primary for regime in regimes],
            "regime_labels": [regime.joined for regime in regimes],
        }
    )
