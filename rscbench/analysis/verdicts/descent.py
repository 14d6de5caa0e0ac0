"""The gradient-descent verdicts, per GD family (tasks that differ only in width and seed): V4 (RSC
certified along GD), V5 (geometric convergence on a two-phase fit, with the PL/NTK bound on L and the
RSC rate as information) and V7 (what the certificate is worth: certified but no progress)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from rscbench.analysis.bootstrap import bootstrap_ci
from rscbench.analysis.convergence import pl_descent_rate, two_phase_fit
from rscbench.analysis.verdicts.common import (
    HOLDS,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    WIDTH,
    Verdict,
    evidence_reason,
    gd_tasks,
    make_verdict,
    median,
    sweeps,
)

__all__ = ["NO_PROGRESS_RATIO", "V4_FRACTION", "V5_LATE_R2", "gd_verdicts", "run_summaries"]

V4_FRACTION = 0.95
V5_LATE_R2 = 0.95
NO_PROGRESS_RATIO = 0.1
"""A run makes no progress when its loss ratio L_T / L_0 at the budget exceeds this (V7)."""
_OUTCOME = "metric.gd_outcome"


def _finite_median(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def _checkpoints(steps: pd.DataFrame) -> pd.DataFrame:
    return steps[steps["rsc_lower"].notna()] if "rsc_lower" in steps else steps.iloc[0:0]


def _run(task: pd.Series, steps: pd.DataFrame) -> dict[str, Any]:
    """What one GD run's trajectory says: its two-phase fit, the PL/NTK bound over the tail, its first
    certified checkpoint after t = 0 and the mean-mode ratio at its certified checkpoints."""
    steps = steps.sort_values("step")
    losses = pd.to_numeric(steps["loss"], errors="coerce").to_numpy()
    fit = two_phase_fit(losses) if len(losses) else two_phase_fit([math.nan])
    initial = losses[0] if len(losses) else math.nan
    checkpoints = _checkpoints(steps)
    certified = checkpoints[(checkpoints["step"] > 0) & (checkpoints["rsc_lower"].astype(float) > 0)]
    first = certified.iloc[0] if len(certified) else None
    summary: dict[str, Any] = {
        "fit": fit,
        "first_certified_step": int(first["step"]) if first is not None else None,
        "loss_ratio_at_first_certified": float(first["loss"]) / initial if first is not None else math.nan,
        "mean_mode_ratio": _finite_median(
            list(pd.to_numeric(certified.get("certificate_ratio"), errors="coerce"))
        )
        if "certificate_ratio" in certified
        else math.nan,
        "pl_rate": math.nan,
    }
    if fit.fitted and "pl_constant" in checkpoints and "beta_hat" in steps:
        tail = checkpoints[checkpoints["step"] >= fit.breakpoint]
        mu = pd.to_numeric(tail["pl_constant"], errors="coerce")
        betas = steps[steps["beta_hat"].notna()]
        in_force = betas[betas["step"] <= fit.breakpoint].tail(1)
        beta = pd.concat([in_force, betas[betas["step"] > fit.breakpoint]])["beta_hat"].astype(float)
        if len(mu) and mu.notna().all() and len(beta):
            omega = float(task.get("spec.protocol.omega", 1.0))
            summary["pl_rate"] = pl_descent_rate(float(mu.min()), float(beta.max()), omega)
    return summary


def run_summaries(rows: pd.DataFrame, trajectories: pd.DataFrame) -> list[dict[str, Any]]:
    """:func:`_run` of every task in ``rows`` that has a stored trajectory, with its width."""
    out = []
    for _, task in rows.iterrows():
        steps = trajectories[trajectories["task_id"] == task["task_id"]]
        if len(steps):
            out.append(_run(task, steps) | {"width": int(task[WIDTH]), "task_id": task["task_id"]})
    return out


def _v4(fixed: dict, rows: pd.DataFrame, runs: list[dict], seed: int) -> Verdict:
    largest_width = rows[WIDTH].max()
    largest = rows[rows[WIDTH] == largest_width]
    fractions = largest["metric.gd_rsc_certified_fraction"].astype(float)
    finite = fractions[np.isfinite(fractions)]
    estimate, low, high = (
        bootstrap_ci(finite.to_numpy(), largest.loc[finite.index, "spec.seed"].to_numpy(), seed=seed)
        if len(finite)
        else (math.nan, math.nan, math.nan)
    )
    reason = evidence_reason(rows)
    if not reason and not len(finite):
        reason = "no checkpoint after t = 0 at the largest width"
    status = INCONCLUSIVE if reason else SUPPORTED if estimate >= V4_FRACTION else NOT_SUPPORTED
    at_largest = [run for run in runs if run["width"] == largest_width]
    numbers = {
        "largest_width": int(largest_width),
        "certified_fraction": estimate,
        "ci": [low, high],
        "certified_at_init": float(largest["metric.gd_rsc_certified_at_init"].astype(float).mean())
        if "metric.gd_rsc_certified_at_init" in largest
        else math.nan,
        "first_certified_step_median": _finite_median(
            [r["first_certified_step"] or math.nan for r in at_largest]
        ),
        "loss_ratio_at_first_certified_median": _finite_median(
            [r["loss_ratio_at_first_certified"] for r in at_largest]
        ),
        "by_width": {
            int(w): float(v)
            for w, v in rows.groupby(WIDTH)["metric.gd_rsc_certified_fraction"].mean().items()
        },
    }
    return make_verdict(
        "V4",
        fixed,
        rows,
        claim=f"RSC certified (Q6 lower bound > 0) at >= {V4_FRACTION:g} of the GD checkpoints after "
        "t = 0 at the largest width",
        aspect="certified fraction",
        status=status,
        numbers=numbers,
        reason=reason,
    )


def _v5(fixed: dict, rows: pd.DataFrame, runs: list[dict]) -> Verdict:
    reached = rows[_OUTCOME] == "reached_target"
    fits = [run["fit"] for run in runs]
    geometric = [f.fitted and f.late_r2 >= V5_LATE_R2 for f in fits]
    late_rates = [f.late_rate for f in fits]
    pl_rates = [run["pl_rate"] for run in runs]
    bounded = [math.isfinite(p) and r <= p for r, p in zip(late_rates, pl_rates, strict=True)]
    reason = evidence_reason(rows)
    if not reason and len(runs) < len(rows):
        reason = f"{len(rows) - len(runs)} of {len(rows)} runs have no stored trajectory"
    if reason:
        status = INCONCLUSIVE
    else:
        status = SUPPORTED if bool(reached.all()) and all(geometric) else NOT_SUPPORTED
    numbers = {
        "runs": len(rows),
        "reached_target": int(reached.sum()),
        "geometric_tail": int(sum(geometric)),
        "late_r2_min": min((f.late_r2 for f in fits if f.fitted), default=math.nan),
        "late_r2_median": _finite_median([f.late_r2 for f in fits]),
        "early_rate_median": _finite_median([f.early_rate for f in fits]),
        "late_rate_median": _finite_median(late_rates),
        "breakpoint_median": _finite_median([float(f.breakpoint) for f in fits if f.fitted]),
        "median_steps_to_target": median(rows, "metric.gd_steps_to_target"),
        "pl_bound_rate_median": _finite_median(pl_rates),
        "pl_bound_holds": int(sum(bounded)),
        "rsc_rate_median": median(rows, "metric.gd_predicted_rate"),
        "one_line_r2_median": median(rows, "metric.gd_rate_r2"),
        "ntk_drift_median": median(rows, "metric.gd_ntk_drift"),
    }
    return make_verdict(
        "V5",
        fixed,
        rows,
        claim=f"every GD run reaches target_ratio within its budget and its tail is geometric (late "
        f"segment of a two-phase fit of log L_t with R^2 >= {V5_LATE_R2:g}); beside it the PL/NTK bound "
        "1 - omega(2-omega) mu/(2 beta) on L_{t+1}/L_t (runs within it) and the RSC rate "
        "1 - omega(2-omega) alpha/beta, which bounds L_t - Lbar_t, not L_t (information)",
        aspect="geometric tail",
        status=status,
        numbers=numbers,
        reason=reason,
    )


def _v7(fixed: dict, rows: pd.DataFrame, runs: list[dict], v4: Verdict) -> Verdict:
    largest_width = rows[WIDTH].max()
    largest = rows[rows[WIDTH] == largest_width]
    ratios = pd.to_numeric(largest.get("metric.gd_final_loss_ratio"), errors="coerce")
    final = float(ratios.median()) if ratios is not None and ratios.notna().any() else math.nan
    numbers = {
        "V4": v4.status,
        "largest_width": int(largest_width),
        "final_loss_ratio_median": final,
        "runs_without_progress": int((~(ratios <= NO_PROGRESS_RATIO)).sum()) if ratios is not None else 0,
        "mean_mode_ratio_at_certified": _finite_median(
            [run["mean_mode_ratio"] for run in runs if run["width"] == largest_width]
        ),
    }
    if v4.status not in (SUPPORTED, HOLDS):
        status, reason = INCONCLUSIVE, f"V4 is {v4.status}: no certificate to weigh"
    elif not math.isfinite(final):
        status, reason = INCONCLUSIVE, "no final loss ratio"
    else:
        reason = ""
        status = NOT_SUPPORTED if final > NO_PROGRESS_RATIO else SUPPORTED
    return make_verdict(
        "V7",
        fixed,
        rows,
        claim=f'where RSC is certified along GD (V4), GD makes progress: not supported ("certified but no '
        f'progress") iff the median loss ratio at the budget at the largest width is '
        f"> {NO_PROGRESS_RATIO:g}; "
        "the mean-mode ratio n ||g_bar||^2 / lambda_min(K) at the certified checkpoints beside it",
        aspect="progress where certified",
        status=status,
        numbers=numbers,
        reason=reason,
    )


def gd_verdicts(frame: pd.DataFrame, trajectories: pd.DataFrame | None, seed: int) -> list[Verdict]:
    """V4, V5 and V7 for every GD family (diverged runs included: divergence is an outcome)."""
    verdicts = []
    paths = trajectories if trajectories is not None else pd.DataFrame(columns=["task_id", "step", "loss"])
    for fixed, rows in sweeps(
        gd_tasks(frame), WIDTH, "gd_steps_taken", min_values=1, statuses=("ok", "diverged")
    ):
        runs = run_summaries(rows, paths)
        v4 = _v4(fixed, rows, runs, seed)
        verdicts += [v4, _v5(fixed, rows, runs), _v7(fixed, rows, runs, v4)]
    return verdicts
