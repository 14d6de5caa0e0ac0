"""The width and depth verdicts (V1, V2, V3, V8), the controls (V6) and the not-measured rows, on
synthetic stored records with a known answer: each is shown to pass, to fail and to be inconclusive."""

import math

import numpy as np
import pandas as pd
import pytest
from synthetic_records import certificate_rows, depth_rows, judged, task, width_rows

from rscbench.analysis.references import with_references
from rscbench.analysis.verdicts import (
    CLAIMS,
    CONTROL_STATUSES,
    COVERED_STATUSES,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_MEASURED,
    NOT_SUPPORTED,
    SUPPORTED,
    judge,
    regime_findings,
    sweeps,
    verdict_table,
)

TANH, GELU = "tanh sigma1=1", "gelu sigma1=1"


@pytest.mark.parametrize(
    ("law", "noise", "status"),
    [
        (lambda m: 0.9 * m**-0.5, 0.03, SUPPORTED),
        (lambda m: 0.9 * m**-0.2, 0.03, NOT_SUPPORTED),  # too slow a decay
        (lambda m: 0.9 * m**-0.9, 0.03, NOT_SUPPORTED),  # far steeper: a broken kernel
        (lambda m: 0.9 * m**-0.4, 0.08, INCONCLUSIVE),  # the CI straddles -0.4
    ],
)
def test_v1_at_init(law, noise: float, status: str) -> None:
    verdict = judged(width_rows("predictor_hessian_max", law, noise=noise, rng=2))[("V1", TANH, "at init")]
    assert verdict.status == status and verdict.covered and verdict.id == "V1"
    if status == INCONCLUSIVE:
        assert "straddles" in verdict.reason
    assert set(verdict.numbers["c_H_by_width"]) == {64, 128, 256, 512, 1024}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"seeds": (0, 1)}, "2 seeds < 3"),
        ({"widths": (64, 128)}, "2 widths < 3"),
        ({"seeds": (0,)}, "1 seed < 3"),
    ],
)
def test_minimum_evidence_makes_a_verdict_inconclusive(changes: dict, reason: str) -> None:
    found = judged(width_rows("predictor_hessian_max", lambda m: m**-0.5, **changes))
    verdict = found[("V1", TANH, "at init")]
    assert verdict.status == INCONCLUSIVE and reason in verdict.reason


def test_a_single_width_is_no_sweep_so_v1_is_not_measured() -> None:
    found = judged(width_rows("predictor_hessian_max", lambda m: m**-0.5, widths=(256,)))
    verdict = found[("V1", "-", "at init")]
    assert verdict.status == NOT_MEASURED and "width sweep" in verdict.reason


def test_relu_and_a_users_model_are_controls_with_their_expectation() -> None:
    relu = judged(width_rows("predictor_hessian_max", lambda m: m**-0.5, activation="relu"))
    control = relu[("V1", "relu sigma1=1", "at init")]
    assert control.id == "V6" and not control.covered and control.status == HOLDS
    assert "expected to hold" in control.expectation
    assert relu[("V1", "-", "at init")].status == NOT_MEASURED  # a control is no evidence for the claim
    failing = judged(width_rows("predictor_hessian_max", lambda m: m**-0.1, activation="relu"))
    assert failing[("V1", "relu sigma1=1", "at init")].status == FAILS
    user = judged(
        width_rows("predictor_hessian_max", lambda m: m**-0.5, **{"spec.model.arch": "my.models:net"})
    )
    verdict = user[("V1", "my.models:net", "at init")]
    assert (
        verdict.id == "V6"
        and verdict.source["model.arch"] == "my.models:net"
        and "user's model" in verdict.expectation
    )


def _gd_hessian_rows(law) -> tuple[list[dict], list[dict]]:
    generator = np.random.default_rng(11)
    tasks, steps = [], []
    for seed in range(3):
        for width in (64, 128, 256, 512):
            row = task("tanh", width, seed=seed, **{"spec.protocol.gd_steps": 100})
            row["metric.predictor_hessian_max"] = 0.9 * width**-0.5
            tasks.append(row)
            for step in (0, 50, 100):
                value = law(width, step) * math.exp(generator.normal(0, 0.02))
                steps.append({"task_id": row["task_id"], "step": step, "predictor_hessian_max": value})
            steps.append({"task_id": row["task_id"], "step": 1, "predictor_hessian_max": np.nan})
    return tasks, steps


@pytest.mark.parametrize(
    ("law", "status"),
    [
        (lambda m, t: 0.9 * m**-0.5 * (1 + t / 100), SUPPORTED),  # grows along GD, same width law
        (lambda m, t: 0.9 * m**-0.5 + t / 100 * m**-0.1, NOT_SUPPORTED),  # grows by an m^-0.1 term
    ],
)
def test_v1_along_gd_uses_the_largest_checkpoint(law, status: str) -> None:
    tasks, steps = _gd_hessian_rows(law)
    along = judged(tasks, steps)[("V1", TANH, "along GD")]
    assert along.status == status and along.fits[0]["metric"] == "predictor_hessian_max_along_gd"
    assert judged(tasks)[("V1", "-", "along GD")].status == NOT_MEASURED  # no trajectories


@pytest.mark.parametrize(
    ("law", "noise", "status"),
    [
        (lambda m: 0.01 * m**0.05, 0.03, SUPPORTED),
        (lambda m: 0.5 * m**-0.9, 0.03, NOT_SUPPORTED),
        (lambda m: 0.5 * m**-0.5, 0.1, INCONCLUSIVE),
    ],
)
def test_v3_width_exponent(law, noise: float, status: str) -> None:
    verdict = judged(width_rows("g_bar_sqnorm", law, noise=noise, rng=2))[("V3", TANH, "width exponent")]
    assert verdict.status == status


def test_v3_reports_the_infinite_width_value_beside_each_width() -> None:
    """With the dataset named, each width gets ||g_bar||^2_inf at its sigma0(m); measured values drawn
    around the limit give a ratio near 1 and a ratio exponent near 0, whatever the limit's own drift."""
    data = {"spec.data.dataset": "sphere", "spec.data.n": 16, "spec.data.d": 8, "spec.data.dataset_seed": 0}
    data |= {"spec.data.targets": None, "spec.loss": "square", "spec.model.scale_input": True}
    rows = width_rows("g_bar_sqnorm", lambda m: 1.0, widths=(64, 256, 1024), noise=0.01, **data)
    frame = pd.DataFrame(rows)
    limits = with_references(frame)["metric.g_bar_sqnorm_limit"].to_numpy()
    frame["metric.g_bar_sqnorm"] *= limits
    (verdict,) = [v for v in judge(frame) if v.aspect == "width exponent"]
    assert verdict.numbers["measured_over_limit_largest_width"] == pytest.approx(1.0, abs=0.03)
    assert abs(verdict.numbers["ratio_exponent"]) < 0.02
    assert verdict.numbers["exponent"] == pytest.approx(verdict.numbers["limit_exponent"], abs=0.02)
    assert set(verdict.numbers["by_width"]) == {64, 256, 1024}


def test_v2_claims_no_exponential_growth_below_one_and_controls_above() -> None:
    cases = {
        (0.5, "power growth"): (lambda d: d**1.5, SUPPORTED),
        (0.5, "exponential decay"): (lambda d: 0.3**d, SUPPORTED),  # decay is no exponential growth
        (0.5, "exponential growth"): (lambda d: math.exp(0.6 * d), NOT_SUPPORTED),
        (2.0, "exponential growth"): (lambda d: math.exp(0.6 * d), HOLDS),
        (2.0, "power growth"): (lambda d: d**0.3, FAILS),
    }
    for (sigma1, label), (law, status) in cases.items():
        verdict = judged(depth_rows("predictor_hessian_max", law, sigma1=sigma1))[
            ("V2", f"tanh sigma1={sigma1:g}", "depth growth")
        ]
        assert verdict.status == status, label
        if sigma1 > 1:
            assert verdict.id == "V6" and "edge of chaos" in verdict.expectation
    few = depth_rows("predictor_hessian_max", lambda d: d**1.5, sigma1=0.5, depths=(1, 2, 3))
    verdict = judged(few)[("V2", "tanh sigma1=0.5", "depth growth")]
    assert verdict.status == INCONCLUSIVE and "3 depths < 4" in verdict.reason


def test_the_depth_factor_of_g_bar_is_a_regime_finding_not_a_verdict() -> None:
    records = depth_rows("g_bar_sqnorm", lambda d: 0.1 * 0.05**d, sigma1=0.5, noise=0.05)
    assert not any(v.aspect not in {a for _, a, _, _ in CLAIMS} for v in judge(pd.DataFrame(records)))
    (finding,) = regime_findings(pd.DataFrame(records))
    assert finding.numbers["per_layer_factor"] == pytest.approx(0.05, rel=0.1)
    assert finding.numbers["preferred"] == "exponential"


def test_v3_m_star_passes_fails_and_is_inconclusive() -> None:
    # GN = 1e-3 (flat) and -lambda_min(R) = 0.1 m^-1/2 cross at m* = (0.1 / 1e-3)^2 = 1e4
    verdict = judged(certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5))[("V3", TANH, "m*")]
    assert verdict.status == SUPPORTED and verdict.numbers["m_star"] == pytest.approx(1e4, rel=0.2)
    low, high = verdict.numbers["m_star_ci"]
    assert low < 1e4 < high and verdict.numbers["extrapolated"] and len(verdict.numbers["windows"]) == 3
    never = judged(certificate_rows(lambda m: 1e-3 * m**-1.0, lambda m: 0.1 * m**-0.5))[("V3", TANH, "m*")]
    assert never.status == NOT_SUPPORTED and never.numbers["m_star"] == math.inf
    two = judged(certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5, seeds=(0, 1)))[("V3", TANH, "m*")]
    assert two.status == INCONCLUSIVE and "2 seeds" in two.reason


WIDE = (64, 128, 256, 512, 1024, 4096, 8192, 16384, 32768)


def test_v8_crossing_inside_the_prediction_is_supported() -> None:
    verdict = judged(certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5, widths=WIDE))[
        ("V8", TANH, "crossing")
    ]
    assert verdict.status == SUPPORTED, verdict.numbers
    assert verdict.numbers["crossing_bracket"] == [8192, 16384] and verdict.numbers["fit_widths"][-1] == 1024


def test_v8_fails_when_the_certificate_holds_far_earlier_and_is_inconclusive_without_a_crossing() -> None:
    records = certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5, widths=WIDE)
    for row in records:  # something else certifies from 4096 on
        if row["spec.model.width"] >= 4096:
            row["metric.rsc_lower"] = 1e-4
    assert judged(records)[("V8", TANH, "crossing")].status == NOT_SUPPORTED
    short = judged(certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5))[("V8", TANH, "crossing")]
    assert short.status == INCONCLUSIVE and "beyond the largest measured width" in short.reason
    assert short.numbers["prediction_beyond_largest_width"] == pytest.approx(1e4 / 512, rel=0.3)


def test_v8_says_how_far_the_crossing_missed_and_which_term_bent() -> None:
    # -lambda_min(R) = 0.1 m^-1/2 up to 1024, then falls like m^-1 (its law bends): the fit on widths
    # <= 1024 predicts m* = 1e4, but GN = 1e-3 overtakes 0.1 * 1024^0.5 / m from m = 3200 on.
    def minus_r(m: float) -> float:
        return 0.1 * m**-0.5 if m <= 1024 else 0.1 * 1024**0.5 / m

    verdict = judged(certificate_rows(lambda m: 1e-3, minus_r, widths=WIDE))[("V8", TANH, "crossing")]
    assert verdict.status == NOT_SUPPORTED
    assert verdict.numbers["crossing_bracket"] == [1024, 4096]
    departures = verdict.numbers["term_over_law_at_crossing"]
    assert departures["gauss_newton"] == pytest.approx(1.0, rel=0.1)
    assert departures["minus_lambda_min_R"] == pytest.approx((1024 / 4096) ** 0.5, rel=0.1)
    assert "below the CI's lower end" in verdict.reason
    assert "-lambda_min(R)'s law bent the most" in verdict.reason and "below it" in verdict.reason


def test_every_claim_is_accounted_for() -> None:
    """An empty store lists every claim as not measured with the experiment it needs; the V6 secant
    comparison, which has no estimator yet, is listed whatever the suite."""
    verdicts = judge(pd.DataFrame())
    assert {(v.id, v.aspect) for v in verdicts} == {(i, a) for i, a, _, _ in CLAIMS}
    assert all(v.status == NOT_MEASURED and v.reason.startswith("needs ") for v in verdicts)
    found = judged(width_rows("predictor_hessian_max", lambda m: m**-0.5))
    assert found[("V6", "-", "secant vs Hessian")].status == NOT_MEASURED
    table = verdict_table(list(found.values()))
    assert {"covered", "expectation", "reason", "aspect", "form"} <= set(table.columns)


def test_sweeps_ignore_failed_tasks_and_other_fields() -> None:
    records = width_rows("predictor_hessian_max", lambda m: m**-0.5)
    records[0]["status"] = "failed"
    ((fixed, group),) = sweeps(pd.DataFrame(records), "spec.model.width", "predictor_hessian_max")
    assert len(group) == len(records) - 1 and fixed["model.activation"] == "tanh"


def test_statuses_belong_to_the_subjects_kind() -> None:
    """Covered rows say supported / not supported / inconclusive / not measured, controls holds /
    fails / inconclusive / not measured."""
    records = width_rows("predictor_hessian_max", lambda m: m**-0.5)
    records += width_rows("predictor_hessian_max", lambda m: m**-0.1, activation="relu")
    records += depth_rows("predictor_hessian_max", lambda d: d**0.3, sigma1=2.0)
    verdicts = judge(pd.DataFrame(records))
    assert {v.covered for v in verdicts} == {True, False}
    for verdict in verdicts:
        assert verdict.status in (COVERED_STATUSES if verdict.covered else CONTROL_STATUSES), verdict
