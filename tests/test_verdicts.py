"""Verdicts on synthetic stored records with a known answer: each must be able to pass and to fail."""

import numpy as np
import pandas as pd
import pytest

from rscbench.verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, judge, sweeps

WIDTHS = (64, 128, 256, 512, 1024)


def rows(
    activation: str, metric: str, law, *, widths=WIDTHS, seeds=(0, 1, 2), noise=0.03, **spec
) -> list[dict]:
    generator = np.random.default_rng(7)
    out = []
    for seed in seeds:
        shift = generator.normal(0, noise)
        for width in widths:
            out.append(
                {
                    "status": "ok",
                    "spec.model.activation": activation,
                    "spec.model.width": width,
                    "spec.model.depth": spec.get("depth", 2),
                    "spec.model.sigma1": spec.get("sigma1", 1.0),
                    "spec.protocol.gd_steps": 0,
                    "spec.seed": seed,
                    f"metric.{metric}": law(width) * np.exp(shift + generator.normal(0, noise)),
                }
            )
    return out


def verdicts_of(records: list[dict]) -> dict[tuple[str, str], str]:
    return {(v.id, v.subject): v.status for v in judge(pd.DataFrame(records))}


def test_v1_supported_for_inverse_sqrt_and_not_for_a_slower_decay() -> None:
    records = rows("tanh", "predictor_hessian_max", lambda m: 0.9 * m**-0.5)
    records += rows("gelu", "predictor_hessian_max", lambda m: 0.9 * m**-0.2)
    found = verdicts_of(records)
    assert found[("V1", "tanh")] == SUPPORTED
    assert found[("V1", "gelu")] == NOT_SUPPORTED


def test_v1_for_relu_is_reported_as_a_control() -> None:
    found = verdicts_of(rows("relu", "predictor_hessian_max", lambda m: m**-0.5))
    assert found == {("V6", "relu"): SUPPORTED}


def test_too_few_seeds_or_widths_is_inconclusive_or_absent() -> None:
    one_seed = verdicts_of(rows("tanh", "predictor_hessian_max", lambda m: m**-0.5, seeds=(0,)))
    assert one_seed[("V1", "tanh")] == INCONCLUSIVE
    two_widths = verdicts_of(rows("tanh", "predictor_hessian_max", lambda m: m**-0.5, widths=(64, 128)))
    assert ("V1", "tanh") not in two_widths


def test_v3_condition_on_the_average_gradient() -> None:
    records = rows("tanh", "g_bar_sqnorm", lambda m: 0.01 * m**0.05)
    records += rows("softplus", "g_bar_sqnorm", lambda m: 0.5 * m**-0.9)
    found = verdicts_of(records)
    assert found[("V3", "tanh")] == SUPPORTED and found[("V3", "softplus")] == NOT_SUPPORTED


def test_v2_depth_growth_for_sigma1_below_and_above_one() -> None:
    records = []
    generator = np.random.default_rng(3)
    for sigma1, law in ((0.5, lambda depth: depth**1.5), (2.0, lambda depth: np.exp(0.6 * depth))):
        for seed in range(3):
            for depth in (1, 2, 3, 4, 6, 8):
                records.append(
                    {
                        "status": "ok",
                        "spec.model.activation": "tanh",
                        "spec.model.width": 256,
                        "spec.model.depth": depth,
                        "spec.model.sigma1": sigma1,
                        "spec.protocol.gd_steps": 0,
                        "spec.seed": seed,
                        "metric.predictor_hessian_max": law(depth) * np.exp(generator.normal(0, 0.02)),
                    }
                )
    found = verdicts_of(records)
    assert found[("V2", "sigma1=0.5")] == SUPPORTED
    assert found[("V6", "sigma1=2")] == SUPPORTED


def gd_rows(activation: str, *, fraction: float, r2: float, rate: float, predicted: float) -> list[dict]:
    return [
        {
            "status": "ok",
            "spec.model.activation": activation,
            "spec.model.width": width,
            "spec.model.depth": 2,
            "spec.model.sigma1": 1.0,
            "spec.protocol.gd_steps": 400,
            "spec.seed": seed,
            "metric.gd_steps_taken": 100,
            "metric.gd_steps_to_target": 100,
            "metric.gd_outcome": "reached_target",
            "metric.gd_rsc_certified_fraction": fraction,
            "metric.gd_rsc_certified_at_init": False,
            "metric.gd_rate_r2": r2,
            "metric.gd_geometric_rate": rate,
            "metric.gd_predicted_rate": predicted,
        }
        for width in (64, 256)
        for seed in range(3)
    ]


@pytest.mark.parametrize(
    ("kwargs", "v4", "v5", "v7"),
    [
        ({"fraction": 1.0, "r2": 0.99, "rate": 0.9, "predicted": 0.95}, SUPPORTED, SUPPORTED, None),
        (
            {"fraction": 1.0, "r2": 0.7, "rate": 0.99, "predicted": 0.95},
            SUPPORTED,
            NOT_SUPPORTED,
            NOT_SUPPORTED,
        ),
        ({"fraction": 0.5, "r2": 0.99, "rate": 0.9, "predicted": 0.95}, NOT_SUPPORTED, SUPPORTED, None),
    ],
    ids=["all-hold", "certified-without-progress", "not-certified"],
)
def test_v4_v5_v7(kwargs: dict, v4: str, v5: str, v7: str | None) -> None:
    found = verdicts_of(gd_rows("tanh", **kwargs))
    assert found[("V4", "tanh")] == v4 and found[("V5", "tanh")] == v5
    assert found.get(("V7", "tanh")) == v7


def test_sweeps_ignore_failed_tasks_and_other_fields() -> None:
    records = rows("tanh", "predictor_hessian_max", lambda m: m**-0.5)
    records[0]["status"] = "failed"
    frame = pd.DataFrame(records)
    ((fixed, group),) = sweeps(frame, "spec.model.width", "predictor_hessian_max")
    assert len(group) == len(records) - 1 and fixed["model.activation"] == "tanh"
