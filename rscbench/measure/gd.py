"""Full-batch gradient descent with eta = omega / beta_hat, and what the theory says about it (Q9).

The run works on a private copy of the model. Every step records the loss, ||grad L|| and the
distance ||theta_t - theta_0||; every ``rsc_every`` steps (and at the last iterate) a checkpoint
records the RSC certificate (Q4/Q6), the predictor-Hessian norm and the theorem's alpha (Q1/Q8),
the NTK's lambda_min (Q10) and the per-layer spectral distances ||W_t - W_0||_2. beta_hat is
re-measured every ``beta_every`` steps and right after any step that increased the loss; each
re-measurement records the sharpness eta_{t-1} lambda_max(H_t) of the step size in force (2 is the
edge of stability). A loss that grows 10x or stops being finite ends the run as "diverged".
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.losses import get_loss, loss_function
from rscbench.measure.ntk import ntk_drift, ntk_gram
from rscbench.measure.snapshot import measure_snapshot
from rscbench.measure.spaces import loss_hessian_extremes

__all__ = [
    "CHECKPOINT_QUANTITIES",
    "DIVERGENCE_FACTOR",
    "GradientDescentRun",
    "checkpoint_record",
    "geometric_rate",
    "gradient_descent",
    "iterate_outcome",
    "loss_and_gradient",
    "parameter_distance",
    "summarize_run",
]

DIVERGENCE_FACTOR = 10.0
"""A run diverges when the loss exceeds this multiple of L(theta_0), or is not finite."""


@dataclass(frozen=True)
class GradientDescentRun:
    """What one training run did (GD, or rscbench.measure.optimizers): ``outcome`` is
    "reached_target", "budget" or "diverged".

    ``trajectory`` has one dict per iterate t = 0..steps (loss, grad_norm, distance, eta);
    ``checkpoints`` one dict per RSC checkpoint; ``beta_measurements`` one per beta re-measurement;
    ``summary`` the scalar results (see gradient_descent).
    """

    outcome: str
    steps: int
    trajectory: list[dict] = field(repr=False)
    checkpoints: list[dict] = field(repr=False)
    beta_measurements: list[dict] = field(repr=False)
    summary: dict


def geometric_rate(losses: list[float]) -> tuple[float, float]:
    """exp(slope) of a least-squares fit of log L_t on t, and the fit's R^2 (per-step factor).

    Needs at least 3 positive finite losses; returns (nan, nan) otherwise. A rate < 1 is a
    geometric decrease; R^2 near 1 says the decrease is geometric rather than sub-linear.
    """
    values = np.asarray(losses, dtype=np.float64)
    if values.size < 3 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        return math.nan, math.nan
    steps = np.arange(values.size, dtype=np.float64)
    logs = np.log(values)
    slope, intercept = np.polyfit(steps, logs, 1)
    residual = logs - (slope * steps + intercept)
    spread = float(np.sum((logs - logs.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / spread if spread > 0 else 1.0
    return float(math.exp(slope)), r2


def gradient_descent(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    *,
    loss: str = "square",
    steps: int = 100,
    omega: float = 1.0,
    target_ratio: float = 1e-3,
    beta_every: int = 10,
    rsc_every: int = 10,
    kappa: float = 0.5,
    rho2: float = 1.0,
    probes: int = 16,
    tol: float = 1e-3,
    seed: int = 0,
) -> GradientDescentRun:
    """Run full-batch GD from the model's parameters for at most ``steps`` steps (Q9).

    Summary keys: ``steps_to_target`` (None when not reached: censored at ``steps``),
    ``geometric_rate`` and ``rate_r2`` (fit of log L_t over the descent phase, t = 0 .. the last
    iterate), ``contraction_median``/``contraction_max`` (L_{t+1}/L_t), ``predicted_rate`` =
    1 - omega (2 - omega) alpha / beta with alpha the smallest certified RSC lower bound over the
    checkpoints after t = 0 (t = 0 alone when there are none; the init certificate is reported
    on its own) and beta the largest beta_hat (>= 1 means the theorem guarantees nothing),
    ``rsc_certified_fraction`` (checkpoints after t = 0 with a positive certified lower bound),
    ``rsc_certified_at_init``, ``ntk_drift`` (||K_T - K_0||_F / ||K_0||_F), ``sharpness_max``
    and ``distance_final``. Losses are in the loss's units; distances in parameter units.
    """
    if not get_loss(loss).scalar_output:
        raise InvalidArgumentError("loss", loss, "square or logistic for gradient descent")
    require_integer("steps", steps, 0)
    require_integer("beta_every", beta_every, 1)
    require_integer("rsc_every", rsc_every, 1)
    if not 0 < omega < 2:
        raise InvalidArgumentError("omega", omega, "a number in (0, 2)")
    if not 0 < target_ratio < 1:
        raise InvalidArgumentError("target_ratio", target_ratio, "a number in (0, 1)")

    current = copy.deepcopy(model)
    parameters = dict(current.named_parameters())
    initial = {name: value.detach().clone() for name, value in parameters.items()}
    loss_fn = loss_function(current, X, y, loss)
    gram_initial = ntk_gram(current, X)

    trajectory: list[dict] = []
    checkpoints: list[dict] = []
    betas: list[dict] = []
    eta = math.nan
    outcome = "budget"
    first_loss = math.nan
    for step in range(steps + 1):
        value, gradient = loss_and_gradient(loss_fn, current)
        if step == 0:
            first_loss = value
        distance = parameter_distance(current, initial)
        trajectory.append({"step": step, "loss": value, "grad_norm": _norm(gradient), "distance": distance})
        checkpoint = functools.partial(
            checkpoint_record, current, X, y, loss, step, initial, kappa, rho2, probes, tol, seed
        )
        ended = iterate_outcome(
            value, first_loss, step, steps, target_ratio, rsc_every, checkpoint, checkpoints
        )
        if ended is not None:
            outcome = ended
            break
        increased = step > 0 and value > trajectory[-2]["loss"]
        if step % beta_every == 0 or increased:
            extremes = loss_hessian_extremes(current, X, y, loss, tol=tol, seed=seed + step)
            betas.append(
                {
                    "step": step,
                    "beta_hat": extremes.norm,
                    "lambda_max": extremes.lambda_max,
                    "lambda_min": extremes.lambda_min,
                    "sharpness_before": eta * extremes.lambda_max if math.isfinite(eta) else None,
                    "beta_residual": max(extremes.residual_max, extremes.residual_min),
                    "converged": extremes.converged,
                }
            )
            eta = omega / extremes.norm
        trajectory[-1]["eta"] = eta
        with torch.no_grad():
            for name, parameter in parameters.items():
                parameter.sub_(eta * gradient[name])

    sharpness = [b["sharpness_before"] for b in betas if b["sharpness_before"] is not None]
    summary = summarize_run(
        trajectory, checkpoints, betas, outcome, target_ratio, omega=omega, sharpness=sharpness
    )
    if outcome != "diverged":
        summary["ntk_drift"] = ntk_drift(gram_initial, ntk_gram(current, X))
    return GradientDescentRun(outcome, len(trajectory) - 1, trajectory, checkpoints, betas, summary)


def loss_and_gradient(loss_fn, model: nn.Module) -> tuple[float, dict[str, Tensor]]:
    """``loss_fn`` at ``model``'s parameters and its gradient by name (zeros when the loss is not finite)."""
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in model.named_parameters()}
    value = loss_fn(leaves)
    if not torch.isfinite(value):
        return float(value.detach()), {name: torch.zeros_like(leaf) for name, leaf in leaves.items()}
    grads = torch.autograd.grad(value, list(leaves.values()), allow_unused=True)
    return float(value.detach()), {
        name: (torch.zeros_like(leaf) if g is None else g)
        for (name, leaf), g in zip(leaves.items(), grads, strict=True)
    }


def _norm(tensors: dict[str, Tensor]) -> float:
    return math.sqrt(sum(float((t.double() ** 2).sum()) for t in tensors.values()))


def parameter_distance(model: nn.Module, initial: dict[str, Tensor]) -> float:
    """||theta - theta_0|| over every parameter (parameter units)."""
    return _norm({name: value.detach() - initial[name] for name, value in model.named_parameters()})


def iterate_outcome(
    value: float,
    first_loss: float,
    step: int,
    steps: int,
    target_ratio: float,
    rsc_every: int,
    checkpoint: Callable[[], dict],
    checkpoints: list[dict],
) -> str | None:
    """What ends a training run at iterate ``step`` with loss ``value``: "diverged" (not finite, or
    above DIVERGENCE_FACTOR * ``first_loss``), "reached_target" (at most ``target_ratio`` *
    ``first_loss``), "budget" (the last of ``steps``), or None to go on. A run that has not diverged
    appends ``checkpoint()`` to ``checkpoints`` every ``rsc_every`` steps, at the target and at the end."""
    if not math.isfinite(value) or value > DIVERGENCE_FACTOR * first_loss:
        return "diverged"
    reached = value <= target_ratio * first_loss
    if step % rsc_every == 0 or reached or step == steps:
        checkpoints.append(checkpoint())
    if reached:
        return "reached_target"
    return "budget" if step == steps else None


CHECKPOINT_QUANTITIES = ("Q1", "Q4", "Q6", "Q8", "Q10")
"""What every training checkpoint measures (with ||W_t - W_0||_2 per weight matrix)."""


def checkpoint_record(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    loss: str,
    step: int,
    initial: dict[str, Tensor],
    kappa: float,
    rho2: float,
    probes: int,
    tol: float,
    seed: int,
) -> dict:
    """The snapshot of CHECKPOINT_QUANTITIES at this iterate, plus ||W_t - W_0||_2 per weight matrix."""
    record = {"step": step} | measure_snapshot(
        model,
        X,
        y,
        loss=loss,
        quantities=CHECKPOINT_QUANTITIES,
        kappa=kappa,
        rho2=rho2,
        n_probes=probes,
        tol=tol,
        seed=seed,
    )
    for name, parameter in model.named_parameters():
        if parameter.dim() == 2:
            record[f"spectral_distance_{name}"] = float(
                torch.linalg.matrix_norm((parameter.detach() - initial[name]).double(), ord=2)
            )
    return record


def summarize_run(
    trajectory: list[dict],
    checkpoints: list[dict],
    betas: list[dict],
    outcome: str,
    target: float,
    *,
    omega: float | None,
    sharpness: list[float],
) -> dict:
    """The summary keys of :func:`gradient_descent` for any training run; ``predicted_rate`` (the GD
    theorem's rate) is NaN when ``omega`` is None, ``sharpness_max`` the largest of ``sharpness``."""
    losses = [point["loss"] for point in trajectory]
    rate, r2 = geometric_rate(losses) if outcome != "diverged" else (math.nan, math.nan)
    ratios = [b / a for a, b in itertools.pairwise(losses) if a > 0 and math.isfinite(b)]
    later = [c for c in checkpoints if c["step"] > 0]
    lowers = [c["rsc_lower"] for c in later or checkpoints]
    beta_max = max((b["beta_hat"] for b in betas), default=math.nan)
    alpha = min(lowers, default=math.nan)
    gd_rate = omega is not None and betas and lowers
    return {
        "outcome": outcome,
        "steps_taken": len(trajectory) - 1,
        "steps_to_target": len(trajectory) - 1 if outcome == "reached_target" else None,
        "final_loss_ratio": losses[-1] / losses[0] if losses[0] > 0 else math.nan,
        "geometric_rate": rate,
        "rate_r2": r2,
        "contraction_median": float(np.median(ratios)) if ratios else math.nan,
        "contraction_max": max(ratios, default=math.nan),
        "predicted_rate": 1 - omega * (2 - omega) * alpha / beta_max if gd_rate else math.nan,
        "rsc_certified_at_init": bool(
            checkpoints and checkpoints[0]["step"] == 0 and checkpoints[0]["rsc_holds"]
        ),
        "rsc_certified_fraction": sum(c["rsc_holds"] for c in later) / len(later) if later else math.nan,
        "beta_max": beta_max,
        "sharpness_max": max(sharpness, default=math.nan),
        "distance_final": trajectory[-1]["distance"],
        "target_ratio": target,
    }
