"""Verdicts on synthetic stored records with a known answer: each must be able to pass and to fail."""

import numpy as np
import pandas as pd
import pytest

from rscbench.analysis.verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, judge, sweeps

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


def depth_rows(metric: str, laws: dict, *, rng_seed: int, noise: float) -> list[dict]:
    """Tanh depth sweeps at width 256, one per sigma1 in ``laws`` (sigma1 -> law of depth), 3 seeds."""
    generator = np.random.default_rng(rng_seed)
    records = []
    for sigma1, law in laws.items():
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
                        f"metric.{metric}": law(depth) * np.exp(generator.normal(0, noise)),
                    }
                )
    return records


def test_v2_depth_growth_for_sigma1_below_and_above_one() -> None:
    laws = {0.5: lambda depth: depth**1.5, 2.0: lambda depth: np.exp(0.6 * depth)}
    found = verdicts_of(depth_rows("predictor_hessian_max", laws, rng_seed=3, noise=0.02))
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


def _gd_task_rows(law, *, widths=(64, 128, 256, 512), seeds=(0, 1, 2)) -> tuple[list[dict], list[dict]]:
    """Stored GD tasks (one per width and seed) and their trajectories, whose checkpoints follow ``law``."""
    generator = np.random.default_rng(11)
    tasks, steps = [], []
    for seed in seeds:
        for width in widths:
            task_id = f"t{seed}-{width}"
            tasks.append(
                {
                    "task_id": task_id,
                    "status": "ok",
                    "spec.model.activation": "tanh",
                    "spec.model.width": width,
                    "spec.model.depth": 2,
                    "spec.model.sigma1": 1.0,
                    "spec.protocol.gd_steps": 100,
                    "spec.seed": seed,
                    "metric.predictor_hessian_max": 0.9 * width**-0.5,
                }
            )
            for step in (0, 50, 100):
                value = law(width, step) * np.exp(generator.normal(0, 0.02))
                steps.append({"task_id": task_id, "step": step, "predictor_hessian_max": value})
            steps.append({"task_id": task_id, "step": 1, "predictor_hessian_max": np.nan})
    return tasks, steps


@pytest.mark.parametrize(
    ("law", "status"),
    [
        (lambda m, t: 0.9 * m**-0.5 * (1 + t / 100), SUPPORTED),  # grows along GD, same width law
        (lambda m, t: 0.9 * m**-0.5 + t / 100 * m**-0.1, NOT_SUPPORTED),  # grows by an m^-0.1 term
    ],
)
def test_v1_along_gd_uses_the_largest_checkpoint(law, status: str) -> None:
    tasks, steps = _gd_task_rows(law)
    verdicts = {(v.id, v.subject): v for v in judge(pd.DataFrame(tasks), pd.DataFrame(steps))}
    along = verdicts[("V1", "tanh along GD")]
    assert along.status == status
    assert along.fits[0]["metric"] == "predictor_hessian_max_along_gd"
    # without trajectories there is nothing to judge along GD
    assert ("V1", "tanh along GD") not in {(v.id, v.subject) for v in judge(pd.DataFrame(tasks))}


def test_v3_depth_factor_flags_an_exponentially_vanishing_average_gradient() -> None:
    laws = {0.5: lambda depth: 0.1 * 0.05**depth, 0.9: lambda depth: 0.1 * depth**-0.5}
    records = depth_rows("g_bar_sqnorm", laws, rng_seed=5, noise=0.05)
    verdicts = {v.subject: v for v in judge(pd.DataFrame(records)) if v.id == "V3"}
    vanishing, polynomial = verdicts["tanh sigma1=0.5 vs depth"], verdicts["tanh sigma1=0.9 vs depth"]
    assert vanishing.status == NOT_SUPPORTED
    assert vanishing.numbers["per_layer_factor"] == pytest.approx(0.05, rel=0.1)
    assert polynomial.status == SUPPORTED and polynomial.numbers["preferred"] == "power"


def _certificate_rows(gauss_newton, minus_lambda_min_r) -> list[dict]:
    generator = np.random.default_rng(9)
    out = []
    for seed in range(3):
        for width in (64, 128, 256, 512):
            gn = gauss_newton(width) * np.exp(generator.normal(0, 0.02))
            lam = -minus_lambda_min_r(width) * np.exp(generator.normal(0, 0.02))
            out.append(
                {
                    "status": "ok",
                    "spec.model.activation": "tanh",
                    "spec.model.width": width,
                    "spec.model.depth": 2,
                    "spec.model.sigma1": 1.0,
                    "spec.protocol.gd_steps": 100,
                    "spec.seed": seed,
                    "metric.rsc_lambda_min_R": lam,
                    "metric.rsc_lower_gn": gn + lam,
                    "metric.rsc_lower": gn + lam,
                }
            )
    return out


def test_v3_threshold_width_is_where_the_fitted_laws_cross() -> None:
    # GN = 1e-3 (flat) and -lambda_min(R) = 0.1 m^-1/2 cross at m* = (0.1 / 1e-3)^2 = 1e4.
    records = _certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5)
    (verdict,) = [v for v in judge(pd.DataFrame(records)) if v.subject == "tanh m*"]
    assert verdict.status == SUPPORTED
    assert verdict.numbers["m_star"] == pytest.approx(1e4, rel=0.2)
    low, high = verdict.numbers["m_star_ci"]
    assert low < 1e4 < high and verdict.numbers["extrapolated"]
    # a GN term that decays faster than -lambda_min(R) never catches up: m* is infinite
    records = _certificate_rows(lambda m: 1e-3 * m**-1.0, lambda m: 0.1 * m**-0.5)
    (verdict,) = [v for v in judge(pd.DataFrame(records)) if v.subject == "tanh m*"]
    assert verdict.status == NOT_SUPPORTED and verdict.numbers["m_star"] == np.inf
