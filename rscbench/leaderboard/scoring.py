"""Scores of one leaderboard entry from its stored tasks, and the ranking rule.

An entry is judged by rscbench.analysis.verdicts.judge on its own records and GD trajectories. Each of
the theory's claims V1-V5 is read off the verdicts of that form (a verdict's ``form``): a covered
entry's rows are supported / not supported / inconclusive; an entry the theory does not cover (ReLU,
a user's model) gets control rows, holds / fails / inconclusive, shown apart on the board and never
read as evidence for the theorem. A claim judged by several rows (V1 at init and along GD; V3's width
exponent and its m*) passes only if all of them do and fails if any does; "not measured" rows count
only when nothing else judged the claim. V2's claim on the leaderboard is the theory's regime, "no
exponential growth of the Hessian in depth", for every entry; for sigma1 >= 1 the verdicts judge the
control's form (exponential growth, what the bound allows), so its status is read complemented.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rscbench.analysis.verdicts import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_MEASURED,
    NOT_SUPPORTED,
    SUPPORTED,
    Verdict,
    judge,
)
from rscbench.leaderboard.entries import Entry
from rscbench.models.activations import ACTIVATIONS
from rscbench.run.specs import ModelSpec

__all__ = [
    "CHECKS",
    "CHECK_CLAIMS",
    "RANKING_RULE",
    "EntryScore",
    "rank_scores",
    "ranking_key",
    "score_entry",
]

CHECKS = ("V1", "V2", "V3", "V4", "V5")
CHECK_CLAIMS = {
    "V1": "max-probe ||Hessian of f|| ~ m^b with the 95% CI of b inside [-0.6, -0.4] at init and <= -0.4 "
    "for its largest value along GD",
    "V2": "no exponential growth of the predictor-Hessian norm in depth",
    "V3": "the RSC condition at init: ||g_bar||^2 ~ m^b with the CI's lower end > -1/2, and a finite width "
    "m* from which the Q6 certificate holds",
    "V4": "RSC certified at >= 95% of GD checkpoints after t = 0 at the largest width",
    "V5": "every GD run reaches the target and its tail is geometric (late-segment R^2 >= 0.95 of a "
    "two-phase fit)",
}
PASSES, FAILURES = (SUPPORTED, HOLDS), (NOT_SUPPORTED, FAILS)
COMPLEMENT = {HOLDS: FAILS, FAILS: HOLDS}
"""A control's V2 status read on the leaderboard's V2 claim (no exponential growth)."""
RANKING_RULE = (
    "Entries whose every task ran (none failed, timed out or is missing) come first.",
    "More of V1-V5 passed ranks higher (supported, or a control's holds; inconclusive and not measured "
    "count as not passed).",
    "Then fewer of V1-V5 failed (not supported, or a control's fails; an inconclusive check beats a failed "
    "one).",
    "Then fewer median GD steps to reach 1e-3 of the initial loss over all GD runs (a run that did not "
    "reach it, by budget or divergence, counts as infinitely many steps).",
    "Then a higher RSC-certified fraction of GD checkpoints at the largest width.",
    "Then a smaller median geometric rate of the loss's tail (V5's late segment: faster contraction).",
    "Finally the entry name, alphabetically. A missing number ranks after every measured one.",
)


@dataclass(frozen=True)
class EntryScore:
    """An entry's scores under one leaderboard ``version``; ``rank`` is 0 until rank_scores sets it.

    Exponents are dimensionless; steps are GD iterations (``median_steps_to_target`` is inf when
    the median run did not reach the target); ``geometric_rate`` is the per-step loss
    factor of the late (geometric) segment of V5's two-phase fit (median over runs); ``ntk_drift``
    is ||K_T - K_0||_F / ||K_0||_F (median over runs);
    ``compute_seconds`` is the summed wall time of the entry's stored tasks; ``evidence`` holds the
    numbers of every verdict behind each check.
    """

    name: str
    author: str
    description: str
    model: dict[str, Any]
    model_label: str
    covered_by_theory: bool | None
    version: str
    tasks: int
    tasks_missing: int
    tasks_failed: int
    checks: dict[str, str]
    hessian_exponent: float
    hessian_ci: tuple[float, float]
    gbar_exponent: float
    rsc_certified_fraction: float
    rsc_ci: tuple[float, float]
    gd_runs: int
    gd_reached: int
    gd_diverged: int
    median_steps_to_target: float
    geometric_rate: float
    ntk_drift: float
    certified_without_progress: bool
    compute_seconds: float
    rank: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def supported(self) -> int:
        """How many of V1-V5 passed (supported, or holds for a control)."""
        return sum(status in PASSES for status in self.checks.values())

    @property
    def not_supported(self) -> int:
        """How many of V1-V5 failed (not supported, or fails for a control)."""
        return sum(status in FAILURES for status in self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; non-finite numbers become None (steps to target None: not reached)."""
        values = asdict(self) | {"supported": self.supported, "not_supported": self.not_supported}
        return _json_ready(values)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fit_evidence(verdicts: list[Verdict], metric: str) -> dict[str, Any]:
    """The numbers of the first verdict whose first fit is ``metric`` against width ({} when none)."""
    for verdict in verdicts:
        if verdict.fits and verdict.fits[0]["metric"] == metric and verdict.fits[0]["axis"] == "model.width":
            return verdict.numbers
    return {}


def _status(verdict: Verdict) -> str:
    """A verdict's status read on the leaderboard's claim of its form (V2 controls complemented)."""
    return COMPLEMENT.get(verdict.status, verdict.status) if verdict.form == "V2" else verdict.status


def _combined(statuses: list[str]) -> str:
    """Several rows of one claim: failed if any fails, passed if all pass (supported for covered rows,
    holds for controls), not measured if nothing measured it, else inconclusive."""
    measured = [status for status in statuses if status != NOT_MEASURED]
    if not measured:
        return NOT_MEASURED
    failed = [status for status in measured if status in FAILURES]
    if failed:
        return failed[0]
    if all(status in PASSES for status in measured):
        return measured[0]
    return INCONCLUSIVE


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _median(values: pd.Series) -> float:
    finite = values.astype(float)
    finite = finite[np.isfinite(finite)]
    return float(finite.median()) if len(finite) else math.nan


def score_entry(
    entry: Entry,
    frame: pd.DataFrame,
    trajectories: pd.DataFrame,
    task_ids: set[str],
    version: str,
    *,
    seed: int = 0,
) -> EntryScore:
    """Score ``entry`` from ``frame`` and ``trajectories`` (ResultStore.to_frame() and
    .trajectory_frame()) restricted to its suite's ``task_ids``.

    Verdicts come from rscbench.analysis.verdicts.judge (bootstrap seeded with ``seed``); the Hessian and
    ||g_bar||^2 exponents from the width fits at init; GD scores from
    every GD run of the entry (status ok or diverged): steps to target (inf when not reached),
    geometric rate and NTK drift as medians.
    """
    rows = frame[frame["task_id"].isin(task_ids)].reset_index(drop=True)
    paths = trajectories[trajectories["task_id"].isin(task_ids)].reset_index(drop=True)
    verdicts = judge(rows, paths, seed=seed) if not rows.empty else []
    by_check: dict[str, list[Verdict]] = {check: [] for check in CHECKS}
    for verdict in verdicts:
        if verdict.form in by_check:
            by_check[verdict.form].append(verdict)
    checks = {check: _combined([_status(v) for v in found]) for check, found in by_check.items()}
    by_check = {check: [v for v in found if v.status != NOT_MEASURED] for check, found in by_check.items()}
    evidence = {check: [v.numbers for v in found] for check, found in by_check.items() if found}
    hessian = _fit_evidence(by_check["V1"], "predictor_hessian_max")
    gbar = _fit_evidence(by_check["V3"], "g_bar_sqnorm")
    certified = by_check["V4"][0].numbers if by_check["V4"] else {}
    gd = _gd_scores(rows)
    tails = [v.numbers.get("late_rate_median") for v in by_check["V5"]]
    gd["geometric_rate"] = _number(tails[0]) if tails else math.nan
    spec = ModelSpec(**entry.model)
    failed = int(rows["status"].isin(["failed", "timeout"]).sum()) if not rows.empty else 0
    return EntryScore(
        name=entry.name,
        author=entry.author,
        description=entry.description,
        model=dict(entry.model),
        model_label=entry.label(),
        covered_by_theory=None if spec.is_factory else ACTIVATIONS[spec.activation].covered_by_theory,
        version=version,
        tasks=len(task_ids),
        tasks_missing=len(task_ids) - len(rows),
        tasks_failed=failed,
        checks=checks,
        hessian_exponent=_number(hessian.get("exponent")),
        hessian_ci=(_number(hessian.get("ci_low")), _number(hessian.get("ci_high"))),
        gbar_exponent=_number(gbar.get("exponent")),
        rsc_certified_fraction=_number(certified.get("certified_fraction")),
        rsc_ci=tuple(_number(v) for v in certified.get("ci", [math.nan, math.nan])),
        **gd,
        certified_without_progress=any(v.form == "V7" and v.status in FAILURES for v in verdicts),
        compute_seconds=float(rows["wall_seconds"].sum()) if not rows.empty else 0.0,
        evidence=evidence,
    )


def _gd_scores(rows: pd.DataFrame) -> dict[str, Any]:
    """GD scores over the runs among ``rows`` (tasks with a GD outcome: status ok or diverged)."""
    if "metric.gd_outcome" not in rows:
        return {
            "gd_runs": 0,
            "gd_reached": 0,
            "gd_diverged": 0,
            "median_steps_to_target": math.inf,
            "ntk_drift": math.nan,
        }
    gd = rows[rows["metric.gd_outcome"].notna()]
    reached = gd["metric.gd_outcome"] == "reached_target"
    steps = gd["metric.gd_steps_to_target"].astype(float).where(reached, math.inf)
    drift = gd["metric.gd_ntk_drift"] if "metric.gd_ntk_drift" in gd else pd.Series(dtype=float)
    return {
        "gd_runs": len(gd),
        "gd_reached": int(reached.sum()),
        "gd_diverged": int((gd["status"] == "diverged").sum()),
        "median_steps_to_target": float(np.median(steps)) if len(steps) else math.inf,
        "ntk_drift": _median(drift),
    }


def _lower_first(value: float) -> float:
    return value if not math.isnan(value) else math.inf


def ranking_key(score: EntryScore) -> tuple:
    """The sort key of RANKING_RULE, in its order (smaller sorts first)."""
    return (
        score.tasks_missing + score.tasks_failed > 0,
        -score.supported,
        score.not_supported,
        _lower_first(score.median_steps_to_target),
        _lower_first(-score.rsc_certified_fraction),
        _lower_first(score.geometric_rate),
        score.name,
    )


def rank_scores(scores: list[EntryScore]) -> list[EntryScore]:
    """The scores sorted by RANKING_RULE with ``rank`` set to 1, 2, ... (no ties: names are unique)."""
    ordered = sorted(scores, key=ranking_key)
    return [_with_rank(score, position) for position, score in enumerate(ordered, start=1)]


def _with_rank(score: EntryScore, rank: int) -> EntryScore:
    values = {name: getattr(score, name) for name in score.__dataclass_fields__}
    return EntryScore(**(values | {"rank": rank}))
