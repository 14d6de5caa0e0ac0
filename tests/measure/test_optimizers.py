"""The protocol's sgd, momentum and adam optimizers: the updates against hand-written rules, the
mini-batches, the schedules, the sharpness against a dense Hessian, stopping and divergence."""

import math

import pytest
import torch

from dense import dense_hessian
from rscbench.data import sphere
from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import loss_function
from rscbench.measure.optimizers import ADAM_BETA2, ADAM_EPS, scheduled_lr, train
from rscbench.models import paper_mlp

N, D, WIDTH = 12, 4, 6


def problem():
    X, y = sphere(N, D, seed=3, dtype=torch.float64)
    return paper_mlp(D, WIDTH, 2, "tanh", 1.0, seed=4).double(), X, y


def flat_params(model) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.named_parameters()}


def gradient(model, params, X, y) -> dict[str, torch.Tensor]:
    leaves = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    value = loss_function(model, X, y, "square")(leaves)
    return dict(zip(leaves, torch.autograd.grad(value, list(leaves.values())), strict=True))


def test_full_batch_sgd_is_theta_minus_lr_grad_and_its_sharpness_is_lr_lambda_max() -> None:
    model, X, y = problem()
    lr = 0.3
    result = train(model, X, y, optimizer="sgd", lr=lr, steps=4, beta_every=1, rsc_every=2, probes=2)
    params = flat_params(model)
    for step in range(4):
        fn = loss_function(model, X, y, "square")
        assert result.trajectory[step]["loss"] == pytest.approx(float(fn(params)), rel=1e-12)
        top = float(torch.linalg.eigvalsh(dense_hessian(fn, params))[-1])
        measured = result.beta_measurements[step]
        assert measured["lambda_max"] == pytest.approx(top, rel=1e-3)
        assert measured["sharpness"] == pytest.approx(lr * measured["lambda_max"], rel=1e-12)
        assert measured["sharpness_rule"] == "lr * (lambda_max(H) + weight_decay)"
        step_gradient = gradient(model, params, X, y)
        params = {name: value - lr * step_gradient[name] for name, value in params.items()}
    fn = loss_function(model, X, y, "square")
    assert result.trajectory[4]["loss"] == pytest.approx(float(fn(params)), rel=1e-12)
    assert [c["step"] for c in result.checkpoints] == [0, 2, 4]
    assert math.isnan(result.summary["predicted_rate"]) and result.outcome == "budget"
    assert result.summary["sharpness_max"] == max(b["sharpness"] for b in result.beta_measurements)


def batch_order(seed: int, batch_size: int, steps: int) -> list[torch.Tensor]:
    """The documented mini-batches: per epoch a permutation from one CPU generator seeded with seed."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    while len(rows) < steps:
        order = torch.randperm(N, generator=generator)
        rows += [order[start : start + batch_size] for start in range(0, N - batch_size + 1, batch_size)]
    return rows[:steps]


def test_adam_on_mini_batches_follows_the_written_update_and_its_preconditioned_sharpness() -> None:
    model, X, y = problem()
    lr, beta1, steps, batch = 0.02, 0.8, 5, 5  # 12 rows in batches of 5: 2 per epoch, 2 rows dropped
    result = train(
        model,
        X,
        y,
        optimizer="adam",
        lr=lr,
        momentum=beta1,
        batch_size=batch,
        steps=steps,
        beta_every=4,
        rsc_every=10,
        probes=2,
        seed=7,
    )
    params = flat_params(model)
    first = {k: torch.zeros_like(v) for k, v in params.items()}
    second = {k: torch.zeros_like(v) for k, v in params.items()}
    for t, rows in enumerate(batch_order(7, batch, steps), start=1):
        fn = loss_function(model, X, y, "square")
        assert result.trajectory[t - 1]["loss"] == pytest.approx(float(fn(params)), rel=1e-10)
        batch_fn = loss_function(model, X[rows], y[rows], "square")
        assert result.trajectory[t - 1]["batch_loss"] == pytest.approx(float(batch_fn(params)), rel=1e-10)
        g = gradient(model, params, X[rows], y[rows])
        for k in params:
            first[k] = beta1 * first[k] + (1 - beta1) * g[k]
            second[k] = ADAM_BETA2 * second[k] + (1 - ADAM_BETA2) * g[k] ** 2
            m_hat, v_hat = first[k] / (1 - beta1**t), second[k] / (1 - ADAM_BETA2**t)
            params[k] = params[k] - lr * m_hat / (v_hat.sqrt() + ADAM_EPS)
        if t == 4:  # the curvature measured at step 4 sees the state after 4 steps
            scale = torch.cat(
                [(s / (1 - ADAM_BETA2**t)).sqrt().add(ADAM_EPS).rsqrt().reshape(-1) for s in second.values()]
            )
            H = dense_hessian(loss_function(model, X, y, "square"), params)
            top = float(torch.linalg.eigvalsh(scale[:, None] * H * scale[None, :])[-1])
            measured = result.beta_measurements[1]
            assert measured["step"] == 4
            assert measured["preconditioned_lambda_max"] == pytest.approx(top, rel=2e-3)
            assert measured["sharpness"] == pytest.approx(lr * (1 - beta1) / (1 + beta1) * top, rel=2e-3)
    assert result.beta_measurements[0]["sharpness"] is None  # no second moment before Adam's first step
    fn = loss_function(model, X, y, "square")
    assert result.trajectory[steps]["loss"] == pytest.approx(float(fn(params)), rel=1e-10)


def test_heavy_ball_momentum_follows_the_written_update() -> None:
    model, X, y = problem()
    lr, beta = 0.2, 0.5
    result = train(model, X, y, optimizer="momentum", lr=lr, momentum=beta, steps=3, probes=2)
    params, velocity = flat_params(model), None
    for _ in range(3):
        g = gradient(model, params, X, y)
        velocity = g if velocity is None else {k: beta * velocity[k] + g[k] for k in g}
        params = {k: v - lr * velocity[k] for k, v in params.items()}
    fn = loss_function(model, X, y, "square")
    assert result.trajectory[3]["loss"] == pytest.approx(float(fn(params)), rel=1e-12)
    assert result.beta_measurements[0]["sharpness"] == pytest.approx(
        lr / (1 + beta) * result.beta_measurements[0]["lambda_max"], rel=1e-12
    )


def test_the_batches_are_seeded_from_the_task_and_cover_each_epoch_once() -> None:
    model, X, y = problem()

    def losses(seed: int) -> list[float]:
        run = train(model, X, y, optimizer="sgd", lr=0.2, batch_size=4, steps=6, seed=seed, probes=2)
        return [point["batch_loss"] for point in run.trajectory[:-1]]

    assert losses(1) == losses(1) and losses(1) != losses(2)
    epoch = torch.cat(batch_order(1, 4, 3))
    assert sorted(epoch.tolist()) == list(range(N))


def test_schedules_follow_their_formulas() -> None:
    assert [scheduled_lr(1.0, "constant", t, 8) for t in (0, 7)] == [1.0, 1.0]
    assert [scheduled_lr(1.0, "step", t, 8) for t in range(8)] == pytest.approx(
        [1] * 4 + [0.1] * 2 + [0.01] * 2
    )
    assert scheduled_lr(2.0, "cosine", 0, 10) == 2.0
    assert scheduled_lr(2.0, "cosine", 5, 10) == pytest.approx(1.0, rel=1e-12)
    model, X, y = problem()
    run = train(model, X, y, optimizer="sgd", lr=0.1, lr_schedule="cosine", steps=4, probes=2)
    assert [p["eta"] for p in run.trajectory[:-1]] == pytest.approx(
        [0.05 * (1 + math.cos(math.pi * t / 4)) for t in range(4)]
    )


def test_stops_at_the_target_and_records_divergence() -> None:
    model, X, y = problem()
    reached = train(
        model, X, y, optimizer="adam", lr=0.05, steps=400, target_ratio=0.5, probes=2, rsc_every=50
    )
    assert reached.outcome == "reached_target" and reached.summary["steps_to_target"] == reached.steps
    assert reached.trajectory[-1]["loss"] <= 0.5 * reached.trajectory[0]["loss"]
    diverged = train(model, X, y, optimizer="sgd", lr=500.0, steps=50, probes=2)
    assert diverged.outcome == "diverged" and "ntk_drift" not in diverged.summary


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"optimizer": "gd"}, "optimizer"),
        ({"lr": 0.0}, "lr"),
        ({"batch_size": N + 1}, "batch_size"),
        ({"momentum": 1.0}, "momentum"),
        ({"lr_schedule": "linear"}, "lr_schedule"),
        ({"steps": 0}, "steps"),
        ({"loss": "cross_entropy"}, "loss"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    model, X, y = problem()
    arguments = {"optimizer": "sgd", "lr": 0.1, "steps": 2} | kwargs
    with pytest.raises(InvalidArgumentError) as error:
        train(model, X, y, **arguments)
    assert error.value.argument == argument
