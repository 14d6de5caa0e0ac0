"""Training with the protocol's sgd, momentum and adam optimizers (Q9 beside the theorem's GD).

:func:`train` runs torch.optim.SGD (``sgd``), SGD with heavy-ball momentum (``momentum``) or
torch.optim.Adam (``adam``, betas (momentum, 0.999), eps 1e-8, no weight decay) on a private copy of
the model, for at most ``steps`` steps of learning rate :func:`scheduled_lr`, and records what
rscbench.measure.gd records for GD, so the same summaries, verdict code and plots read it:

- every iterate t: the full-batch loss L(theta_t) (the quantity the target and divergence rules
  judge), ||theta_t - theta_0||, and for t < T the learning rate ``eta`` of step t, the mini-batch
  loss ``batch_loss`` and the norm ``batch_grad_norm`` of the gradient the step used;
- every ``rsc_every`` steps (and at the last iterate) a checkpoint: rscbench.measure.gd's
  CHECKPOINT_QUANTITIES on the full batch and the per-layer spectral distances;
- every ``beta_every`` steps: the loss Hessian's extremes (``beta_hat``, ``lambda_max``,
  ``lambda_min``) and the sharpness of the optimizer's next step as rscbench.measure.sharpness
  defines it (``sharpness``, ``sharpness_rule``, ``eta_effective``; for Adam the preconditioned
  lambda_max(P^-1 H) too; undefined before Adam's first step).

Mini-batches: with ``batch_size`` None every step uses the full batch; otherwise each epoch draws a
permutation of the n rows from a torch.Generator seeded with ``seed`` (on the CPU, so every device
sees the same batches) and takes consecutive batches of ``batch_size`` rows, dropping the
n mod batch_size rows left over. A loss that grows 10x or stops being finite ends the run as
"diverged". Memory beyond rscbench.measure.gd's: the optimizer's state (one parameter-sized vector
for momentum, two for Adam).
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.gd import (
    GradientDescentRun,
    checkpoint_record,
    iterate_outcome,
    loss_and_gradient,
    parameter_distance,
    summarize_run,
)
from rscbench.measure.losses import get_loss, loss_function
from rscbench.measure.ntk import ntk_drift, ntk_gram
from rscbench.measure.params import detached_params
from rscbench.measure.sharpness import step_rule, step_sharpness
from rscbench.measure.spectrum import hessian_extremes
from rscbench.vocabulary import LR_SCHEDULES, OPTIMIZERS

__all__ = ["ADAM_BETA2", "ADAM_EPS", "TRAINED_OPTIMIZERS", "scheduled_lr", "train"]

TRAINED_OPTIMIZERS = tuple(name for name in OPTIMIZERS if name != "gd")
"""The optimizers :func:`train` runs (gd is rscbench.measure.gd.gradient_descent)."""
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8
"""Adam's second-moment decay and epsilon (PyTorch's defaults); its beta1 is ``momentum``."""
STEP_DECAY = 0.1
"""The ``step`` schedule multiplies the rate by this at 50% and again at 75% of the step budget."""


def scheduled_lr(lr: float, schedule: str, step: int, steps: int) -> float:
    """The learning rate of step ``step`` (0-based) of ``steps``: ``constant`` lr; ``step`` lr times
    STEP_DECAY once step >= steps // 2 and again once step >= 3 steps // 4; ``cosine``
    lr (1 + cos(pi step / steps)) / 2. In the units of ``lr``."""
    if schedule not in LR_SCHEDULES:
        raise InvalidArgumentError("lr_schedule", schedule, "one of " + ", ".join(LR_SCHEDULES))
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr * STEP_DECAY ** ((step >= steps // 2) + (step >= 3 * steps // 4))
    return lr * 0.5 * (1 + math.cos(math.pi * step / steps))


def _optimizer(name: str, parameters: list[Tensor], lr: float, momentum: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(parameters, lr=lr, momentum=momentum)
    return torch.optim.Adam(parameters, lr=lr, betas=(momentum, ADAM_BETA2), eps=ADAM_EPS)


def _batches(n: int, batch_size: int | None, generator: torch.Generator) -> Iterator[Tensor | None]:
    """Row indices of each step's mini-batch (None: the full batch), epoch after epoch."""
    while True:
        if batch_size is None:
            yield None
            continue
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


def _check(
    name: str, lr: float, batch_size: int | None, n: int, momentum: float, target_ratio: float
) -> None:
    if name not in TRAINED_OPTIMIZERS:
        raise InvalidArgumentError("optimizer", name, "one of " + ", ".join(TRAINED_OPTIMIZERS))
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise InvalidArgumentError("lr", lr, "a finite number > 0")
    if batch_size is not None:
        require_integer("batch_size", batch_size, 1)
        if batch_size > n:
            raise InvalidArgumentError("batch_size", batch_size, f"an integer in [1, n = {n}]")
    if not 0 <= momentum < 1:
        raise InvalidArgumentError("momentum", momentum, "a number in [0, 1)")
    if not 0 < target_ratio < 1:
        raise InvalidArgumentError("target_ratio", target_ratio, "a number in (0, 1)")


def train(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    *,
    optimizer: str,
    lr: float,
    loss: str = "square",
    steps: int = 100,
    batch_size: int | None = None,
    lr_schedule: str = "constant",
    momentum: float = 0.9,
    target_ratio: float = 1e-3,
    beta_every: int = 10,
    rsc_every: int = 10,
    kappa: float = 0.5,
    rho2: float = 1.0,
    probes: int = 16,
    tol: float = 1e-3,
    seed: int = 0,
) -> GradientDescentRun:
    """Train a copy of ``model`` on (X, y) with ``optimizer`` for at most ``steps`` steps (see the
    module docstring); the model itself is left as it was.

    The summary has rscbench.measure.gd.gradient_descent's keys; ``predicted_rate`` (the GD
    theorem's rate) is NaN and ``sharpness_max`` is the largest recorded sharpness of the
    optimizer's step. Bad arguments raise InvalidArgumentError naming them.
    """
    if not get_loss(loss).scalar_output:
        raise InvalidArgumentError("loss", loss, "square or logistic for training")
    require_integer("steps", steps, 1)
    require_integer("beta_every", beta_every, 1)
    require_integer("rsc_every", rsc_every, 1)
    _check(optimizer, lr, batch_size, X.shape[0], momentum, target_ratio)
    scheduled_lr(lr, lr_schedule, 0, steps)

    current = copy.deepcopy(model)
    parameters = dict(current.named_parameters())
    initial = {name: value.detach().clone() for name, value in parameters.items()}
    loss_fn = loss_function(current, X, y, loss)
    gram_initial = ntk_gram(current, X)
    torch_optimizer = _optimizer(optimizer, list(parameters.values()), lr, momentum)
    batches = _batches(X.shape[0], batch_size, torch.Generator().manual_seed(seed))

    trajectory: list[dict] = []
    checkpoints: list[dict] = []
    betas: list[dict] = []
    outcome = "budget"
    first_loss = math.nan
    for step in range(steps + 1):
        with torch.no_grad():
            value = float(loss_fn(detached_params(current)))
        first_loss = value if step == 0 else first_loss
        trajectory.append({"step": step, "loss": value, "distance": parameter_distance(current, initial)})
        checkpoint = functools.partial(
            checkpoint_record, current, X, y, loss, step, initial, kappa, rho2, probes, tol, seed
        )
        ended = iterate_outcome(
            value, first_loss, step, steps, target_ratio, rsc_every, checkpoint, checkpoints
        )
        if ended is not None:
            outcome = ended
            break
        rate = scheduled_lr(lr, lr_schedule, step, steps)
        for group in torch_optimizer.param_groups:
            group["lr"] = rate
        if step % beta_every == 0:
            betas.append(_curvature(torch_optimizer, current, loss_fn, step, tol, seed))
        rows = next(batches)
        batch_fn = loss_fn if rows is None else loss_function(current, X[rows], y[rows], loss)
        batch_loss, gradient = loss_and_gradient(batch_fn, current)
        trajectory[-1] |= {
            "eta": rate,
            "batch_loss": batch_loss,
            "batch_grad_norm": math.sqrt(sum(float((g.double() ** 2).sum()) for g in gradient.values())),
        }
        for name, parameter in parameters.items():
            parameter.grad = gradient[name]
        torch_optimizer.step()

    sharpness = [b["sharpness"] for b in betas if b["sharpness"] is not None]
    summary = summarize_run(
        trajectory, checkpoints, betas, outcome, target_ratio, omega=None, sharpness=sharpness
    )
    if outcome != "diverged":
        summary["ntk_drift"] = ntk_drift(gram_initial, ntk_gram(current, X))
    return GradientDescentRun(outcome, len(trajectory) - 1, trajectory, checkpoints, betas, summary)


def _curvature(
    optimizer: torch.optim.Optimizer, model: nn.Module, loss_fn, step: int, tol: float, seed: int
) -> dict:
    """The loss Hessian's extremes at the current iterate and the sharpness of the next step."""
    params = detached_params(model)
    extremes = hessian_extremes(loss_fn, params, tol=tol, seed=seed + step)
    sharp = step_sharpness(
        step_rule(optimizer, model), loss_fn, params, extremes.lambda_max, tol=tol, seed=seed + step
    )
    return {
        "step": step,
        "beta_hat": extremes.norm,
        "lambda_max": extremes.lambda_max,
        "lambda_min": extremes.lambda_min,
        "beta_residual": max(extremes.residual_max, extremes.residual_min),
        "converged": extremes.converged,
    } | sharp
