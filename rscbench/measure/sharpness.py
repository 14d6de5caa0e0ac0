"""Sharpness of a user's optimizer step: its effective step size times the top curvature it sees.

For every rule below, ``sharpness`` is scaled so that 2 is the edge of stability of the optimizer
on the local quadratic model L(theta) ~ 1/2 theta^T H theta (a sharpness above 2 means the step
would diverge along the top eigenvector were the curvature frozen):

- SGD without momentum: sharpness = lr (lambda_max(H) + weight_decay); the GD edge lr lambda < 2.
- SGD with momentum beta and dampening d (PyTorch's heavy ball: v <- beta v + (1 - d) g,
  theta <- theta - lr v): on a quadratic it is stable iff lr (1 - d) lambda < 2 (1 + beta), so
  sharpness = lr (1 - d) / (1 + beta) (lambda_max(H) + weight_decay). (The often quoted
  "effective step" lr / (1 - beta), the step of a constant gradient in the long run, would put
  the edge at 2 (1 + beta) / (1 - beta) instead.)
- Adam (no weight decay, no amsgrad): with its preconditioner P = diag(sqrt(v_hat) + eps) frozen
  (v_hat the bias-corrected second moment in the optimizer's state), Adam is heavy ball with step
  lr (1 - beta1) and momentum beta1 on P^{-1} H, so sharpness = lr (1 - beta1) / (1 + beta1)
  lambda_max(P^{-1} H), the "preconditioned sharpness" of Cohen et al. (2022) divided by its edge
  (2 + 2 beta1) / (1 - beta1) (38 / lr at beta1 = 0.9) and times 2. The first moment's bias
  correction (-> 1 as steps grow) is left out. lambda_max(P^{-1} H) is the top eigenvalue of the
  symmetric P^{-1/2} H P^{-1/2}.
- Anything else (Nesterov momentum, maximize, amsgrad, Adam with weight decay, param groups with
  different settings, other optimizers, Adam before its first step): not defined, recorded with
  the reason.

:func:`step_rule` reads the rule off a torch optimizer; :func:`step_sharpness` measures it at the
current parameters. The training monitor (rscbench.monitor) and the protocol's sgd, momentum and
adam optimizers (rscbench.measure.optimizers) both record sharpness through these two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rscbench.measure.curvature_operators import ScaledOperator
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.params import ScalarFn
from rscbench.measure.topk import top_eigenpairs

__all__ = ["StepRule", "step_rule", "step_sharpness"]


@dataclass(frozen=True)
class StepRule:
    """How sharpness is formed for one optimizer state (see the module docstring).

    ``eta`` multiplies the top eigenvalue (None: sharpness not defined, ``rule`` says why);
    ``shift`` is added to lambda_max(H) (SGD's weight decay); ``preconditioner_scale`` is the flat
    P^{-1/2} in the model's named_parameters() order (Adam) or None. ``rule`` is the formula used.
    """

    eta: float | None
    shift: float
    preconditioner_scale: Tensor | None
    rule: str


def _undefined(reason: str) -> StepRule:
    return StepRule(None, 0.0, None, f"not defined: {reason}")


def _settings(optimizer: torch.optim.Optimizer) -> dict | None:
    """The hyperparameters shared by every param group (None when the groups differ)."""
    groups = [
        {key: value for key, value in group.items() if key != "params"} for group in optimizer.param_groups
    ]
    return groups[0] if all(group == groups[0] for group in groups) else None


def step_rule(optimizer: torch.optim.Optimizer, model: nn.Module) -> StepRule:
    """The sharpness rule of ``optimizer``'s next step on ``model``'s parameters."""
    settings = _settings(optimizer)
    name = type(optimizer).__name__
    if settings is None:
        return _undefined(f"{name} has param groups with different settings")
    if settings.get("maximize", False):
        return _undefined(f"{name} with maximize=True")
    if type(optimizer) is torch.optim.SGD:
        return _sgd_rule(settings)
    if type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
        return _adam_rule(optimizer, settings, model)
    return _undefined(f"no rule for {name} (defined for SGD, momentum SGD and Adam)")


def _sgd_rule(settings: dict) -> StepRule:
    lr, momentum = float(settings["lr"]), float(settings["momentum"])
    dampening, decay = float(settings["dampening"]), float(settings["weight_decay"])
    if settings["nesterov"]:
        return _undefined("SGD with Nesterov momentum")
    if momentum == 0:
        return StepRule(lr, decay, None, "lr * (lambda_max(H) + weight_decay)")
    return StepRule(
        lr * (1 - dampening) / (1 + momentum),
        decay,
        None,
        "lr * (1 - dampening) / (1 + momentum) * (lambda_max(H) + weight_decay)",
    )


def _adam_rule(optimizer: torch.optim.Optimizer, settings: dict, model: nn.Module) -> StepRule:
    if settings.get("amsgrad", False):
        return _undefined("Adam with amsgrad")
    if float(settings["weight_decay"]) != 0:
        return _undefined(f"{type(optimizer).__name__} with weight_decay != 0")
    beta1, beta2 = (float(beta) for beta in settings["betas"])
    lr, eps = float(settings["lr"]), float(settings["eps"])
    scales = []
    for parameter in model.parameters():
        state = optimizer.state.get(parameter, {})
        if "exp_avg_sq" not in state:
            return _undefined("Adam before its first step on every parameter (no second moment yet)")
        steps = float(state["step"])
        v_hat = state["exp_avg_sq"].detach() / (1 - beta2**steps)
        scales.append((v_hat.sqrt() + eps).rsqrt().reshape(-1))
    return StepRule(
        lr * (1 - beta1) / (1 + beta1),
        0.0,
        torch.cat(scales),
        "lr * (1 - beta1) / (1 + beta1) * lambda_max(P^-1 H), P = diag(sqrt(v_hat) + eps)",
    )


def step_sharpness(
    rule: StepRule,
    loss_fn: ScalarFn,
    params: Mapping[str, Tensor],
    lambda_max: float,
    *,
    tol: float = 1e-3,
    seed: int = 0,
) -> dict[str, Any]:
    """The sharpness of the step ``rule`` describes at ``params``, with ``lambda_max`` = lambda_max(H)
    of the loss ``loss_fn`` already measured there (dimensionless; 2 = the edge of stability).

    Returns ``sharpness_rule`` (the formula), ``eta_effective`` and ``sharpness`` (None where the
    rule is not defined); for a preconditioned rule (Adam) also ``preconditioned_lambda_max``
    (lambda_max(P^-1 H) by block Lanczos on P^-1/2 H P^-1/2 to ``tol``, start drawn from ``seed``)
    and ``preconditioned_converged``. Memory of the preconditioned case: that of
    rscbench.measure.topk.top_eigenpairs with k = 1 on a Hessian operator, plus the scale.
    """
    fields: dict[str, Any] = {"sharpness_rule": rule.rule, "eta_effective": rule.eta}
    if rule.eta is None:
        return fields | {"sharpness": None}
    if rule.preconditioner_scale is None:
        return fields | {"sharpness": rule.eta * (lambda_max + rule.shift)}
    operator = ScaledOperator(HessianOperator(loss_fn, params), rule.preconditioner_scale)
    top = top_eigenpairs(operator, 1, tol=tol, seed=seed)
    value = float(top.values[0])
    return fields | {
        "sharpness": rule.eta * value,
        "preconditioned_lambda_max": value,
        "preconditioned_converged": top.converged,
    }
