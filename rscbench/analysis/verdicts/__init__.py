"""The theory's verdicts V1-V8 (docs/verdicts.md), judged from stored task records.

Sweeps are found from the specs themselves, not from experiment names, so any suite works: a width
sweep is a set of stored tasks that differ only in width and seed, a depth sweep likewise in depth, a
GD family likewise among GD runs. Each row names a claim, a subject (activation and sigma1, or a
user's ``arch``, with the optimizer in brackets when it is not the theorem's GD) and whether the
theory covers it: covered subjects get supported / not supported / inconclusive, controls (ReLU,
sigma1 >= 1 for the depth laws, a user's model, and every sweep trained with sgd, momentum or adam:
the theorem is about full-batch GD with eta = omega / beta_hat) holds / fails / inconclusive beside
their written expectation, and a claim the suite has no experiment for is listed as "not measured"
with the experiment it needs. A fit or verdict from fewer than 3 seeds or 3 widths (depths) is
inconclusive, with the reason. Whatever the data say is what the verdict says.

Modules: common (statuses, Verdict, sweeps, coverage, the evidence rule), width (V1, V3, V8), depth
(V2, the regime finding of ||g_bar||^2 in depth), descent (V4, V5, V7), missing (not-measured rows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from rscbench.analysis.references import with_references
from rscbench.analysis.verdicts.common import (
    ALONG_GD_SUFFIX,
    CONTROL_STATUSES,
    COVERED_STATUSES,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    MIN_SEEDS,
    MIN_VALUES,
    NOT_MEASURED,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Verdict,
    sweeps,
)
from rscbench.analysis.verdicts.crossing import v8
from rscbench.analysis.verdicts.depth import regime_findings as _regime_findings
from rscbench.analysis.verdicts.depth import v2
from rscbench.analysis.verdicts.descent import gd_verdicts
from rscbench.analysis.verdicts.missing import CLAIMS, not_measured
from rscbench.analysis.verdicts.width import v1, v3_m_star, v3_width

__all__ = [
    "ALONG_GD_SUFFIX",
    "CLAIMS",
    "CONTROL_STATUSES",
    "COVERED_STATUSES",
    "FAILS",
    "HOLDS",
    "INCONCLUSIVE",
    "MIN_SEEDS",
    "MIN_VALUES",
    "NOT_MEASURED",
    "NOT_SUPPORTED",
    "SUPPORTED",
    "VERDICTS_VERSION",
    "Finding",
    "Verdict",
    "finding_table",
    "judge",
    "prepare",
    "regime_findings",
    "sweeps",
    "verdict_table",
    "with_along_gd",
]

VERDICTS_VERSION = "2"
"""Bump when any verdict's definition (a threshold, a fit, what counts as evidence) changes: the
leaderboard's version includes it, so scores judged under different definitions are never mixed."""
_ORDER = {name: index for index, name in enumerate(("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8"))}


def with_along_gd(frame: pd.DataFrame, trajectories: pd.DataFrame | None, metric: str) -> pd.DataFrame:
    """``frame`` plus a column ``metric.<metric>_along_gd``: the largest value of ``metric`` over each
    task's GD checkpoints (t = 0 included, so it is the supremum along the path the theory bounds).

    Tasks without GD checkpoints get NaN. ``trajectories`` is ResultStore.trajectory_frame().
    """
    column = f"metric.{metric}{ALONG_GD_SUFFIX}"
    frame = frame.copy()
    if trajectories is None or trajectories.empty or metric not in trajectories:
        frame[column] = np.nan
        return frame
    largest = trajectories.groupby("task_id")[metric].max()
    frame[column] = frame["task_id"].map(largest).astype(float)
    return frame


def prepare(frame: pd.DataFrame, trajectories: pd.DataFrame | None) -> pd.DataFrame:
    """The task frame the verdicts read: the along-GD suprema and the infinite-width references added."""
    return with_references(with_along_gd(frame, trajectories, "predictor_hessian_max"))


def judge(frame: pd.DataFrame, trajectories: pd.DataFrame | None = None, *, seed: int = 0) -> list[Verdict]:
    """Every verdict V1-V8 the stored records allow, controls as V6 rows, and a "not measured" row for
    each claim without an experiment, ordered by id, subject and aspect.

    ``frame`` is ResultStore.to_frame(); ``trajectories`` (ResultStore.trajectory_frame()) adds what
    needs the GD paths (V1 along GD, V4's first certified checkpoint, V5's two-phase fits, V7's
    mean-mode ratio). Bootstrap draws are seeded with ``seed``.
    """
    if frame.empty:
        return not_measured([])
    frame = prepare(frame, trajectories)
    found = (
        v1(frame, seed)
        + v2(frame, seed)
        + v3_width(frame, seed)
        + v3_m_star(frame, seed)
        + v8(frame, seed)
        + gd_verdicts(frame, trajectories, seed)
    )
    verdicts = found + not_measured(found)
    return sorted(verdicts, key=lambda v: (_ORDER.get(v.id, 99), v.subject, _ORDER.get(v.form, 99), v.aspect))


def regime_findings(
    frame: pd.DataFrame, trajectories: pd.DataFrame | None = None, *, seed: int = 0
) -> list[Finding]:
    """The report's regime findings: measured facts the paper does not claim (the per-layer factor of
    ||g_bar(theta_0)||^2 in depth beside its infinite-width prediction)."""
    if frame.empty:
        return []
    return _regime_findings(prepare(frame, trajectories), seed)


def _short(value: Any) -> str:
    """A headline number as text: floats to 3 significant digits, lists (CIs) as [low, high]."""
    if isinstance(value, list):
        return "[" + ", ".join(_short(item) for item in value) + "]"
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else str(value)
    return str(value)


def _headline(numbers: dict[str, Any]) -> str:
    skip = ("reason", "conclusive", "windows", "n_points")
    shown = {k: v for k, v in numbers.items() if not isinstance(v, dict) and k not in skip}
    return ", ".join(f"{k}={_short(v)}" for k, v in shown.items())


def _setting(source: dict[str, Any]) -> str:
    names = {
        "model.depth": "depth",
        "model.width": "width",
        "loss": "loss",
        "data.dataset": "data",
        "data.n": "n",
        "protocol.gd_steps": "gd_steps",
        "protocol.optimizer": "optimizer",
        "protocol.lr": "lr",
        "protocol.batch_size": "batch_size",
        "protocol.lr_schedule": "lr_schedule",
        "protocol.momentum": "momentum",
    }
    return ", ".join(f"{short}={_short(source[key])}" for key, short in names.items() if key in source)


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    """One row per verdict: id, form, subject, aspect, setting, covered, status, claim, headline
    numbers, the written expectation (controls) and the reason (inconclusive / not measured)."""
    rows = [
        {
            "id": verdict.id,
            "form": verdict.form,
            "subject": verdict.subject,
            "aspect": verdict.aspect,
            "setting": _setting(verdict.source),
            "covered": "covered" if verdict.covered else "control",
            "status": verdict.status,
            "claim": verdict.claim,
            "numbers": _headline(verdict.numbers),
            "expectation": verdict.expectation,
            "reason": verdict.reason,
        }
        for verdict in verdicts
    ]
    columns = ["id", "form", "subject", "aspect", "setting", "covered", "status", "claim", "numbers"]
    return pd.DataFrame(rows, columns=[*columns, "expectation", "reason"])


def finding_table(findings: list[Finding]) -> pd.DataFrame:
    """One row per regime finding: what, subject, setting and headline numbers."""
    rows = [
        {
            "finding": f.name,
            "subject": f.subject,
            "setting": _setting(f.source),
            "numbers": _headline(f.numbers),
        }
        for f in findings
    ]
    return pd.DataFrame(rows, columns=["finding", "subject", "setting", "numbers"])
