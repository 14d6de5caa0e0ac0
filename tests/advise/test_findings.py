"""The answer of a sweep on synthetic stored tasks with a known crossing (no model runs): the observed
crossing (2 of 3 seeds at that and every larger width), m* fitted on the widths <= 1024 alone, whether
the answer was observed or extrapolated, the per-width regime by majority, and the early stop."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rscbench.advise import EXTRAPOLATED, OBSERVED, UNDETERMINED
from rscbench.advise.findings import crossing_confirmed, sweep_answer, width_findings

GAUSS_NEWTON = 0.01
SCALE = 0.5
KNOWN_M_STAR = (SCALE / GAUSS_NEWTON) ** 2  # 2500: where SCALE / sqrt(m) falls below GAUSS_NEWTON


def rows(widths, *, flip=None, noise=0.02, seed=3) -> pd.DataFrame:
    """Three seeds per width: Gauss-Newton term GAUSS_NEWTON, -lambda_min(R) = SCALE / sqrt(m), each
    with lognormal noise; ``flip`` {(width, seed): certified} overrides the certificate's sign."""
    rng = np.random.default_rng(seed)
    out = []
    for seed_index in range(3):
        for width in widths:
            gn = GAUSS_NEWTON * math.exp(rng.normal(0, noise))
            minus_r = SCALE / math.sqrt(width) * math.exp(rng.normal(0, noise))
            lower = gn - minus_r
            if flip and (width, seed_index) in flip:
                lower = abs(lower) if flip[(width, seed_index)] else -abs(lower)
            out.append(
                {
                    "task_id": f"{width}-{seed_index}",
                    "status": "ok",
                    "spec.model.width": width,
                    "spec.seed": seed_index,
                    "metric.rsc_lower": lower,
                    "metric.rsc_lower_gn": gn - minus_r,
                    "metric.rsc_lambda_min_R": -minus_r,
                    "metric.rsc_holds": bool(lower > 0),
                    "metric.predictor_hessian_scaled_max": 1.0 + 0.01 * seed_index,
                    "metric.theorem_width_threshold": 6.0e6 + seed_index,
                    "metric.g_bar_sqnorm": 2 * gn,
                }
            )
    return pd.DataFrame(out)


def test_crossing_observed_where_the_laws_cross():
    frame = rows([256, 512, 1024, 2048, 4096, 8192])
    answer = sweep_answer(frame)
    assert answer.how == OBSERVED
    assert (answer.observed_crossing, answer.crossing_below) == (4096, 2048)  # 2500 lies between them
    assert answer.fit_widths == (256, 512, 1024)
    assert answer.m_star == pytest.approx(KNOWN_M_STAR, rel=0.25)
    assert answer.m_star_ci[0] <= KNOWN_M_STAR <= answer.m_star_ci[1]
    assert answer.beyond_largest_width is None
    assert answer.regime == "certified at init from width 4096 (observed in 3/3 seeds)"


def test_fit_ignores_the_widths_above_1024():
    frame = rows([256, 512, 1024, 2048, 4096, 8192])
    far = frame["spec.model.width"] > 1024
    moved = frame.copy()
    moved.loc[far, "metric.rsc_lambda_min_R"] *= 100.0  # would move m* a lot if it were fitted
    assert sweep_answer(moved).m_star == sweep_answer(frame).m_star


def test_not_observed_is_extrapolated_with_its_distance():
    answer = sweep_answer(rows([256, 512, 1024]))
    assert answer.how == EXTRAPOLATED and answer.observed_crossing is None
    assert answer.beyond_largest_width == pytest.approx(answer.m_star / 1024)
    assert answer.regime.startswith("not certified at any measured width; m* extrapolated to 2.")
    assert f"{answer.beyond_largest_width:.3g}x the largest measured width 1024" in answer.regime


def test_one_seed_of_three_is_no_crossing_and_a_lapse_resets_it():
    widths = [256, 512, 1024, 2048, 4096, 8192]
    one_seed = {(8192, 0): False, (8192, 1): False}  # certified in 1 of 3 at the largest width only
    assert sweep_answer(rows(widths, flip=one_seed)).observed_crossing is None
    two_seeds = {(8192, 0): False}
    assert sweep_answer(rows(widths, flip=two_seeds)).observed_crossing == 4096
    lapse = {(4096, 0): False, (4096, 1): False}  # certified at 8192 but not at 4096: from 8192 on
    answer = sweep_answer(rows(widths, flip=lapse))
    assert answer.observed_crossing == 8192
    early = {(512, s): True for s in range(3)}  # certified at 512 only, not persistently
    answer = sweep_answer(rows([256, 512, 1024], flip=early))
    assert answer.how == EXTRAPOLATED
    assert "certified in >= 2 of 3 seeds at width 512 only" in answer.regime


def test_crossing_confirmed_needs_one_more_width():
    assert not crossing_confirmed(rows([256, 512, 1024, 2048]))
    assert not crossing_confirmed(rows([256, 512, 1024, 2048, 4096]))  # observed at the last width only
    assert crossing_confirmed(rows([256, 512, 1024, 2048, 4096, 8192]))


def test_undetermined_without_a_fit():
    frame = rows([256])
    answer = sweep_answer(frame)
    assert answer.how == UNDETERMINED and math.isnan(answer.m_star)
    assert "m* could not be extrapolated" in answer.regime


def test_failed_tasks_count_as_uncertified_and_all_failed_has_no_answer():
    frame = rows([256, 512, 1024, 2048, 4096, 8192])
    failed = frame.copy()
    index = failed.index[(failed["spec.model.width"] == 8192) & (failed["spec.seed"] < 2)]
    failed.loc[index, "status"] = "failed"
    failed.loc[index, ["metric.rsc_lower", "metric.rsc_lower_gn", "metric.rsc_lambda_min_R"]] = math.nan
    found = {row.width: row for row in width_findings(failed)}
    assert (found[8192].seeds, found[8192].ok, found[8192].certified) == (3, 1, 1)
    assert found[8192].regime == "unmeasured"
    assert sweep_answer(failed).observed_crossing is None
    none = pd.DataFrame([{"task_id": "a", "status": "failed", "spec.model.width": 256, "spec.seed": 0}])
    answer = sweep_answer(none)
    assert answer.how == UNDETERMINED and answer.m_star_reason == "no finished task measured the certificate"


def test_width_findings_medians_and_majority_regime():
    frame = rows([256, 4096], flip={(4096, 2): False})
    low, high = width_findings(frame)
    assert (low.width, low.certified, low.regime) == (256, 0, "uncertified")
    assert (high.width, high.certified, high.regime) == (4096, 2, "certified-at-init")
    at = frame[frame["spec.model.width"] == 256]
    gauss_newton = at["metric.rsc_lower_gn"] - at["metric.rsc_lambda_min_R"]
    assert low.gauss_newton == pytest.approx(float(gauss_newton.median()))
    assert low.minus_lambda_min_R == pytest.approx(-float(at["metric.rsc_lambda_min_R"].median()))
    assert low.c_H == pytest.approx(1.01) and low.theorem_threshold == pytest.approx(6.0e6 + 1)
    assert math.isnan(low.g_bar_sqnorm_limit)  # no reference column in this frame
