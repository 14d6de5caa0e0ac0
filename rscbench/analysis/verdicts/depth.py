"""The depth laws: V2 (the predictor Hessian's growth in depth at fixed width) and the regime finding of
||g_bar(theta_0)||^2's per-layer factor with its infinite-width prediction."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from rscbench.analysis.fits import DepthModelChoice, compare_depth_laws
from rscbench.analysis.infinite_width import per_layer_factor
from rscbench.analysis.verdicts.common import (
    DEPTH,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    MIN_SEEDS,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Verdict,
    evidence_reason,
    fit_record,
    init_tasks,
    make_verdict,
    positive,
    source_of,
    subject_of,
    sweeps,
)

__all__ = ["MIN_DEPTHS", "regime_findings", "v2"]

MIN_DEPTHS = 4
"""Distinct depths a depth law needs (two 2-parameter laws are compared)."""


def _choice(rows: pd.DataFrame, column: str, seed: int) -> DepthModelChoice:
    return compare_depth_laws(
        rows[DEPTH].astype(float),
        rows[column].astype(float),
        rows["spec.seed"],
        seed=seed,
        min_depths=MIN_DEPTHS,
        min_groups=MIN_SEEDS,
    )


def _factor_numbers(choice: DepthModelChoice) -> dict[str, Any]:
    exponential = choice.exponential
    return {
        "preferred": choice.preferred,
        "aic_delta_power_minus_exponential": choice.delta,
        "per_layer_factor": choice.per_layer_factor,
        "per_layer_factor_ci": [math.exp(exponential.ci_low), math.exp(exponential.ci_high)],
        "power_exponent": choice.power.exponent,
    }


def _no_exponential_growth(choice: DepthModelChoice) -> tuple[str, str]:
    """V2 for sigma1 < 1: supported iff the power law is preferred or the factor's CI upper end <= 1."""
    low, high = (math.exp(v) for v in (choice.exponential.ci_low, choice.exponential.ci_high))
    if not choice.exponential.conclusive:
        return INCONCLUSIVE, choice.exponential.reason
    if choice.preferred == "power" or high <= 1:
        return SUPPORTED, ""
    if choice.preferred == "exponential" and low > 1:
        return NOT_SUPPORTED, ""
    return INCONCLUSIVE, choice.criterion


def _exponential_growth(choice: DepthModelChoice) -> tuple[str, str]:
    """V2's control for sigma1 >= 1: exponential growth holds iff the exponential law is preferred with
    a factor CI above 1, fails iff the power law is preferred or the factor's CI upper end <= 1."""
    low, high = (math.exp(v) for v in (choice.exponential.ci_low, choice.exponential.ci_high))
    if not choice.exponential.conclusive:
        return INCONCLUSIVE, choice.exponential.reason
    if choice.preferred == "exponential" and low > 1:
        return HOLDS, ""
    if choice.preferred == "power" or high <= 1:
        return FAILS, ""
    return INCONCLUSIVE, choice.criterion


def v2(frame: pd.DataFrame, seed: int) -> list[Verdict]:
    """V2 on every depth sweep of the predictor-Hessian norm at fixed width."""
    verdicts = []
    column = "metric.predictor_hessian_max"
    for fixed, rows in sweeps(init_tasks(frame), DEPTH, "predictor_hessian_max", min_values=2):
        rows, _ = positive(rows, column)
        if rows.empty:
            continue
        reason = evidence_reason(rows, DEPTH, min_values=MIN_DEPTHS)
        choice = _choice(rows, column, seed)
        deep = float(fixed.get("model.sigma1", 1.0)) >= 1.0
        status, why = (_exponential_growth if deep else _no_exponential_growth)(choice)
        if reason:
            status, why = INCONCLUSIVE, reason
        verdict = make_verdict(
            "V2",
            fixed,
            rows,
            claim="no exponential growth in depth at fixed width for sigma1 < 1: the power law is "
            "preferred, or the per-layer factor's 95% CI upper end is <= 1",
            control_claim="exponential growth in depth at fixed width (what the bound allows for "
            "sigma1 >= 1): the exponential law preferred with a per-layer factor CI above 1",
            aspect="depth growth",
            status=status,
            numbers=_factor_numbers(choice),
            fits=[
                fit_record(choice.power, "predictor_hessian_max", "model.depth"),
                fit_record(choice.exponential, "predictor_hessian_max", "model.depth"),
            ],
            reason=why,
            depth_law=True,
        )
        verdicts.append(verdict)
    return verdicts


def regime_findings(frame: pd.DataFrame, seed: int) -> list[Finding]:
    """The per-layer factor of ||g_bar(theta_0)||^2 on every depth sweep at init, beside its
    infinite-width prediction (the least-squares factor of the limits over the same depths)."""
    findings = []
    column, limit = "metric.g_bar_sqnorm", "metric.g_bar_sqnorm_limit"
    for fixed, rows in sweeps(init_tasks(frame), DEPTH, "g_bar_sqnorm", min_values=2):
        rows, _ = positive(rows, column)
        if rows.empty:
            continue
        choice = _choice(rows, column, seed)
        numbers = _factor_numbers(choice) | {"reason": evidence_reason(rows, DEPTH, min_values=MIN_DEPTHS)}
        if limit in rows and rows[limit].notna().all():
            limits = rows.groupby(rows[DEPTH].astype(int))[limit].median()
            measured = rows.groupby(rows[DEPTH].astype(int))[column].median()
            numbers |= {
                "limit_per_layer_factor": per_layer_factor(list(limits.index), list(limits.to_numpy())),
                "by_depth": {
                    int(d): {
                        "measured": float(measured[d]),
                        "limit": float(limits[d]),
                        "ratio": float(measured[d] / limits[d]),
                    }
                    for d in limits.index
                },
            }
        findings.append(
            Finding(
                name="per-layer factor of ||g_bar(theta_0)||^2 in depth (why m* grows with depth)",
                subject=subject_of(fixed),
                numbers=numbers,
                source=source_of(fixed, rows),
                fits=[
                    fit_record(choice.power, "g_bar_sqnorm", "model.depth"),
                    fit_record(choice.exponential, "g_bar_sqnorm", "model.depth"),
                ],
            )
        )
    return findings
