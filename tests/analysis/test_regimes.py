"""Regime labels read from a task's records (rscbench.analysis.regimes)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from synthetic_records import gd_family, task

from rscbench.analysis.regimes import REGIME_LABELS, regime_table, task_regime

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


def test_an_infinite_measurement_is_past_every_threshold_and_nan_is_not_measured():
    assert task_regime("ok", {"gd_sharpness_max": math.inf}).labels == ("edge-of-stability",)
    assert task_regime("ok", {"gd_final_loss_ratio": math.inf}).labels == ("no-progress",)
    assert task_regime("ok", {"gd_sharpness_max": math.nan}).labels == ("unmeasured",)


def test_a_monitored_run_is_read_from_its_train_summaries():
    """rscbench.monitor stores train_* where a suite's GD task stores gd_*; the gd_* value wins."""
    run = {"train_loss_ratio": 0.5, "train_sharpness_max": 2.0, "train_rsc_certified_fraction": 1.0}
    assert task_regime("ok", run | {"train_ntk_drift": 0.01}).labels == (
        "no-progress",
        "edge-of-stability",
        "certified-along-gd",
        "lazy",
    )
    assert task_regime("ok", run | {"gd_final_loss_ratio": 1e-3}).labels == (
        "edge-of-stability",
        "certified-along-gd",
    )


def test_numpy_and_pandas_scalars_read_as_python_values():
    values = {
        "rsc_holds": np.bool_(True),
        "gd_rsc_certified_at_init": pd.NA,
        "gd_rsc_certified_fraction": np.float32(0.5),
        "gd_ntk_drift": np.float64(0.01),
        "gd_final_loss_ratio": np.int64(1),
    }
    assert task_regime("ok", values).labels == ("no-progress", "certified-at-init", "lazy")


def test_the_table_of_a_store_frame_labels_each_task_in_order():
    certified, _ = gd_family(widths=(64,), seeds=(0,), certified=1.0)
    half, _ = gd_family(widths=(128,), seeds=(0,), certified=0.5)
    init = task("tanh", 64, **{"metric.rsc_holds": True})
    failed = task("tanh", 32, status="failed")
    frame = pd.DataFrame([*certified, *half, init, failed])
    frame["metric.rsc_holds"] = frame["metric.rsc_holds"].astype("boolean")  # as to_frame types it
    table = regime_table(frame)
    assert list(table.columns) == ["task_id", "regime", "regime_labels"]
    assert list(table["task_id"]) == list(frame["task_id"])
    assert list(table["regime_labels"]) == [
        "certified-along-gd",
        "uncertified",
        "certified-at-init",
        "unmeasured",
    ]
    assert list(table["regime"]) == ["certified-along-gd", "uncertified", "certified-at-init", "unmeasured"]
