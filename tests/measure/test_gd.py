"""The GD protocol (Q9): the rate fit on known data, the step rule, stopping and its summaries."""

import itertools
import math

import pytest
import torch

from rscbench.data import sphere
from rscbench.errors import InvalidArgumentError
from rscbench.measure.gd import geometric_rate, gradient_descent
from rscbench.models import paper_mlp


def test_geometric_rate_recovers_a_known_rate() -> None:
    rate, r2 = geometric_rate([3.0 * 0.9**t for t in range(50)])
    assert rate == pytest.approx(0.9, rel=1e-12) and r2 == pytest.approx(1.0, abs=1e-12)
    noisy, noisy_r2 = geometric_rate([3.0 * 0.9**t * (1.05 if t % 2 else 0.95) for t in range(50)])
    assert noisy == pytest.approx(0.9, rel=5e-3) and 0.9 < noisy_r2 < 1.0
    assert all(math.isnan(v) for v in geometric_rate([1.0, 0.5]))
    # A sub-linear decrease 1/t is not geometric: the fit's R^2 says so.
    assert geometric_rate([1.0 / (t + 1) for t in range(200)])[1] < 0.9


@pytest.fixture(scope="module")
def run():
    torch.manual_seed(0)
    X, y = sphere(24, 8, seed=1, dtype=torch.float64)
    model = paper_mlp(8, 64, 2, "tanh", 1.0, seed=2).double()
    return model, gradient_descent(model, X, y, steps=400, rsc_every=50, beta_every=10)


def test_reaches_the_target_and_stops(run) -> None:
    model, result = run
    losses = [point["loss"] for point in result.trajectory]
    assert result.outcome == "reached_target"
    assert losses[-1] <= 1e-3 * losses[0] < losses[-2]
    assert result.summary["steps_to_target"] == len(losses) - 1
    untouched = paper_mlp(8, 64, 2, "tanh", 1.0, seed=2).double()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), untouched.parameters(), strict=True))


def test_step_size_is_omega_over_the_measured_beta(run) -> None:
    _, result = run
    for measurement in result.beta_measurements:
        eta = result.trajectory[measurement["step"]]["eta"]
        assert eta == pytest.approx(1.0 / measurement["beta_hat"], rel=1e-12)
    steps = [m["step"] for m in result.beta_measurements]
    increases = [p["step"] for p, q in itertools.pairwise(result.trajectory[:-1]) if q["loss"] > p["loss"]]
    assert set(range(0, result.steps, 10)) <= set(steps) and {t + 1 for t in increases} <= set(steps)


def test_summaries_follow_their_definitions(run) -> None:
    _, result = run
    summary = result.summary
    later = [c for c in result.checkpoints if c["step"] > 0]
    alpha = min(c["rsc_lower"] for c in later)
    beta = max(m["beta_hat"] for m in result.beta_measurements)
    assert summary["predicted_rate"] == pytest.approx(1 - alpha / beta, rel=1e-12)
    assert summary["rsc_certified_fraction"] == sum(c["rsc_holds"] for c in later) / len(later)
    assert 0 < summary["geometric_rate"] < 1 and summary["ntk_drift"] > 0
    assert result.checkpoints[-1]["step"] == result.steps
    assert "spectral_distance_W2" in result.checkpoints[-1] and "theorem_alpha" in result.checkpoints[-1]


def test_non_finite_loss_is_diverged() -> None:
    X, y = sphere(8, 4, seed=0)
    model = paper_mlp(4, 8, 1, "tanh", 1.0)
    result = gradient_descent(model, X, torch.full_like(y, 1e30), steps=5)
    assert result.outcome == "diverged" and result.steps == 0
    assert math.isnan(result.summary["geometric_rate"])


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"omega": 2.0}, "omega"),
        ({"steps": -1}, "steps"),
        ({"beta_every": 0}, "beta_every"),
        ({"target_ratio": 1.0}, "target_ratio"),
        ({"loss": "cross_entropy"}, "loss"),
    ],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    X, y = sphere(8, 4, seed=0)
    with pytest.raises(InvalidArgumentError) as error:
        gradient_descent(paper_mlp(4, 8, 1, "tanh", 1.0), X, y, **kwargs)
    assert error.value.argument == argument
