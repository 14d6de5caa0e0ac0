"""Sharpness rules: the dense eta * lambda_max for SGD, momentum and Adam, and the stability edge at 2."""

import pytest
import torch

from dense import dense_hessian
from rscbench.measure import loss_function
from rscbench.measure.params import detached_params
from rscbench.models import paper_mlp
from rscbench.monitor import TrainingMonitor, step_rule

N, D = 12, 4


def problem():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(N, D, generator=generator, dtype=torch.float64)
    X = X * D**0.5 / X.norm(dim=1, keepdim=True)
    y = torch.randn(N, generator=generator, dtype=torch.float64)
    return paper_mlp(D, 6, 2, "tanh", 1.0, seed=1).double(), X, y


def train_step(model, optimizer, X, y) -> None:
    optimizer.zero_grad()
    ((model(X) - y) ** 2).mean().backward()
    optimizer.step()


def dense_top(model, X, y, scale: torch.Tensor | None = None) -> float:
    H = dense_hessian(loss_function(model, X, y, "square"), detached_params(model))
    if scale is not None:
        H = scale[:, None] * H * scale[None, :]
    return float(torch.linalg.eigvalsh(H)[-1])


@pytest.mark.parametrize(
    ("settings", "factor"),
    [
        ({"lr": 0.1}, 0.1),
        ({"lr": 0.1, "momentum": 0.9}, 0.1 / 1.9),
        ({"lr": 0.1, "momentum": 0.5, "dampening": 0.5}, 0.1 * 0.5 / 1.5),
    ],
)
def test_sgd_sharpness_is_the_dense_eta_lambda_max(settings: dict, factor: float) -> None:
    model, X, y = problem()
    optimizer = torch.optim.SGD(model.parameters(), **settings)
    monitor = TrainingMonitor(X, y, every=1, quantities=["Q3"], tol=1e-10)
    train_step(model, optimizer, X, y)
    point = monitor.step(model, optimizer)
    assert point["sharpness"] == pytest.approx(factor * dense_top(model, X, y), rel=1e-8)


def test_sgd_weight_decay_shifts_the_curvature() -> None:
    model, X, y = problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, weight_decay=0.3)
    point = TrainingMonitor(X, y, every=1, quantities=["Q3"], tol=1e-10).step(model, optimizer)
    assert point["sharpness"] == pytest.approx(0.2 * (dense_top(model, X, y) + 0.3), rel=1e-8)


def test_adam_sharpness_is_the_dense_preconditioned_top_eigenvalue() -> None:
    model, X, y = problem()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), eps=1e-6)
    monitor = TrainingMonitor(X, y, every=1, quantities=["Q3"], tol=1e-10)
    assert monitor.step(model, optimizer)["sharpness"] is None  # no second moment before the first step
    for _ in range(3):
        train_step(model, optimizer, X, y)
    point = monitor.step(model, optimizer)
    scale = []
    for parameter in model.parameters():
        state = optimizer.state[parameter]
        v_hat = state["exp_avg_sq"] / (1 - 0.99 ** float(state["step"]))
        scale.append((v_hat.sqrt() + 1e-6).rsqrt().reshape(-1))
    expected = dense_top(model, X, y, torch.cat(scale))
    assert point["preconditioned_lambda_max"] == pytest.approx(expected, rel=1e-8)
    assert point["sharpness"] == pytest.approx(0.01 * 0.2 / 1.8 * expected, rel=1e-8)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), "Nesterov"),
        (lambda p: torch.optim.AdamW(p, lr=0.1), "weight_decay"),
        (lambda p: torch.optim.Adam(p, lr=0.1, amsgrad=True), "amsgrad"),
        (lambda p: torch.optim.RMSprop(p, lr=0.1), "no rule for RMSprop"),
        (lambda p: torch.optim.SGD(p, lr=0.1, maximize=True), "maximize"),
    ],
)
def test_undefined_rules_say_why(make, reason: str) -> None:
    model, _, _ = problem()
    rule = step_rule(make(model.parameters()), model)
    assert rule.eta is None and rule.rule.startswith("not defined") and reason in rule.rule


def test_param_groups_with_different_settings_are_not_defined() -> None:
    model, _, _ = problem()
    first, *rest = list(model.parameters())
    optimizer = torch.optim.SGD([{"params": [first], "lr": 0.1}, {"params": rest, "lr": 0.2}])
    assert "different settings" in step_rule(optimizer, model).rule


@pytest.mark.parametrize(("momentum", "dampening"), [(0.0, 0.0), (0.9, 0.0), (0.6, 0.3)])
def test_sharpness_two_is_the_edge_of_stability_on_a_quadratic(momentum: float, dampening: float) -> None:
    # L(theta) = curvature / 2 * theta^2 with lambda_max = curvature: below sharpness 2 the optimizer
    # converges, above it diverges (the rule's claim, for SGD and heavy-ball momentum).
    curvature = 3.0
    rule_factor = step_rule(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0, momentum=momentum, dampening=dampening),
        torch.nn.Linear(1, 1),
    ).eta
    for sharpness, converges in ((1.9, True), (2.1, False)):
        theta = torch.ones(1, dtype=torch.float64, requires_grad=True)
        lr = sharpness / (rule_factor * curvature)
        optimizer = torch.optim.SGD([theta], lr=lr, momentum=momentum, dampening=dampening)
        for _ in range(2000):
            optimizer.zero_grad()
            (curvature / 2 * theta**2).sum().backward()
            optimizer.step()
        assert (abs(theta.item()) < 1e-3) == converges, (sharpness, theta.item())
