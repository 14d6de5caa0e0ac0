"""Regime labels read from a task's records (rscbench.analysis.regimes)."""

from __future__ import annotations

import math

import pytest

from rscbench.analysis.regimes import REGIME_LABELS, task_regime

LAZY_CERTIFIED_RUN = {
    "rsc_holds": False,
    "gd_final_loss_ratio": 1e-4,
    "gd_sharpness_max": 1.0,
    "gd_rsc_certified_at_init": False,
    "gd_rsc_certified_fraction": 1.0,
    "gd_ntk_drift": 0.02,
}


def test_a_lazy_run_certified_along_gd_carries_both_labels_and_its_primary_is_the_certificate():
    regime = task_regime("ok", LAZY_CERTIFIED_RUN)
    assert regime.labels == ("certified-along-gd", "lazy")
    assert regime.primary == "certified-along-gd"
    assert regime.joined == "certified-along-gd+lazy"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"gd_final_loss_ratio": 0.5}, ("no-progress", "certified-along-gd", "lazy")),
        ({"gd_sharpness_max": 1.95}, ("edge-of-stability", "certified-along-gd", "lazy")),
        ({"gd_sharpness_max": 1.89}, ("certified-along-gd", "lazy")),
        ({"gd_rsc_certified_fraction": 0.9}, ("lazy", "uncertified")),
        ({"gd_ntk_drift": 0.1}, ("certified-along-gd",)),
        ({"rsc_holds": True}, ("certified-at-init", "certified-along-gd", "lazy")),
        ({"gd_ntk_drift": math.nan, "gd_rsc_certified_fraction": math.nan}, ("uncertified",)),
    ],
)
def test_each_threshold_moves_the_labels_on_its_side_only(changes, expected):
    assert task_regime("ok", LAZY_CERTIFIED_RUN | changes).labels == expected


def test_an_init_only_task_is_certified_or_uncertified_by_its_snapshot():
    assert task_regime("ok", {"rsc_holds": True}).labels == ("certified-at-init",)
    assert task_regime("ok", {"rsc_holds": 0}).labels == ("uncertified",)


def test_divergent_and_unmeasured_tasks():
    assert task_regime("diverged", LAZY_CERTIFIED_RUN).labels == ("divergent",)
    assert task_regime("failed", LAZY_CERTIFIED_RUN).labels == ("unmeasured",)
    assert task_regime("ok", {"predictor_hessian_max": 0.3}).labels == ("unmeasured",)


def test_labels_are_listed_in_precedence_order_without_repeats():
    assert len(set(REGIME_LABELS)) == len(REGIME_LABELS)
    assert REGIME_LABELS[0] == "divergent" and REGIME_LABELS[-1] == "unmeasured"
