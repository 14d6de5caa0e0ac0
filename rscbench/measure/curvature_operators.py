"""Curvature matrices as matrix-free linear operators: the Gauss-Newton matrix and the empirical Fisher.

Every estimator in rscbench.measure (trace, spectral density, top-k eigenpairs) acts on a
:class:`LinearOperator`: anything with ``dim``, ``dtype``, ``device``, ``n_products`` and a
``matvec`` of flat vectors. rscbench.measure.hvp.HessianOperator is one; this module adds

- :class:`GaussNewtonOperator`: G u = J^T Lambda J u, J the Jacobian of the outputs z = f(theta)
  and Lambda = nabla^2_z l(z) the Hessian of the loss in the outputs (the generalized Gauss-Newton
  matrix; PSD when l is convex in z). For L(theta) = l(f(theta)), H = G + R with
  R = sum_k (dl/dz_k) nabla^2 z_k, the split behind the RSC certificate (docs/science.md, Q6).
- :class:`ScaledOperator`: S A S u for a diagonal S, e.g. the preconditioned Hessian
  P^{-1/2} H P^{-1/2} of an adaptive optimizer (the eigenvalues of P^{-1} H).
- :class:`EmpiricalFisherOperator`: F u = (1/n) sum_i g_i g_i^T u with g_i = nabla l_i the
  per-sample loss gradients, i.e. (1/n) J_l^T J_l u with J_l the Jacobian of the n per-sample
  losses. It is not the Fisher information (no expectation over the model's own predictive
  distribution); it is the matrix that "empirical Fisher" methods use.

Each product costs one jvp and one vjp of the outputs (about 2-3 gradients); the vjp's graph is
built once at construction and kept. Memory: 2 parameter-sized vectors per product besides the
kept graph of one forward pass and one linearization of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn
from torch.func import jvp, vjp

from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import check_targets, get_loss
from rscbench.measure.params import FlatLayout, ParamDict, detached_params, model_function, scalar_output

__all__ = [
    "EmpiricalFisherOperator",
    "GaussNewtonOperator",
    "LinearOperator",
    "ScaledOperator",
    "empirical_fisher_operator",
    "gauss_newton_operator",
    "loss_output_hessian",
]

OutputFn = Callable[[ParamDict], Tensor]
OutputHessian = Callable[[Tensor], Tensor]


@runtime_checkable
class LinearOperator(Protocol):
    """A symmetric linear map on flat vectors of length ``dim``, with a count of products taken."""

    dim: int
    dtype: torch.dtype
    device: torch.device
    n_products: int

    def matvec(self, vector: Tensor) -> Tensor:
        """The image of a flat vector of length ``dim`` (detached, same dtype and device)."""
        ...


class _JacobianSandwich:
    """u -> J^T M(J u) for J the Jacobian of ``output_fn`` at ``params`` and M a map on the outputs."""

    def __init__(
        self, output_fn: OutputFn, params: Mapping[str, Tensor], middle: Callable[[Tensor], Tensor]
    ) -> None:
        self.layout = FlatLayout(params)
        self.params = {name: value.detach() for name, value in params.items()}
        self.dim, self.dtype, self.device = self.layout.dim, self.layout.dtype, self.layout.device
        self.n_products = 0
        self._output_fn, self._middle = output_fn, middle
        outputs, self._vjp = vjp(output_fn, self.params)
        if not isinstance(outputs, Tensor):
            raise InvalidArgumentError("output_fn output", type(outputs).__name__, "a tensor of outputs")
        self.outputs = outputs.detach()

    def matvec(self, vector: Tensor) -> Tensor:
        """J^T M J @ vector for a flat vector of length dim; returns a flat detached tensor."""
        self.n_products += 1
        _, jacobian_product = jvp(self._output_fn, (self.params,), (self.layout.unflatten(vector),))
        (product,) = self._vjp(self._middle(jacobian_product.detach()))
        return self.layout.flatten(product).detach()


class GaussNewtonOperator(_JacobianSandwich):
    """u -> G u = J^T Lambda J u, the generalized Gauss-Newton matrix of l(output_fn(params)).

    ``output_fn`` maps a parameter dict to the outputs z (any shape); ``output_hessian`` maps a
    tangent of z's shape to Lambda times it, Lambda = nabla^2_z l at z = output_fn(params) (see
    loss_output_hessian for rscbench's losses). Units: loss units per squared parameter unit.
    ``outputs`` holds z, detached.
    """

    def __init__(
        self, output_fn: OutputFn, params: Mapping[str, Tensor], output_hessian: OutputHessian
    ) -> None:
        super().__init__(output_fn, params, output_hessian)


class EmpiricalFisherOperator(_JacobianSandwich):
    """u -> F u = (1/n) sum_i g_i (g_i . u), g_i = nabla l_i, for per-sample losses (l_1..l_n).

    ``per_sample_loss_fn`` maps a parameter dict to the vector of the n per-sample losses (shape
    (n,)); the operator is (1/n) J_l^T J_l. Units: squared loss units per squared parameter unit.
    """

    def __init__(self, per_sample_loss_fn: OutputFn, params: Mapping[str, Tensor]) -> None:
        super().__init__(per_sample_loss_fn, params, self._scale)
        if self.outputs.dim() != 1:
            raise InvalidArgumentError(
                "per_sample_loss_fn output shape", tuple(self.outputs.shape), "(n,), one loss per sample"
            )
        self.n = self.outputs.shape[0]

    def _scale(self, tangent: Tensor) -> Tensor:
        return tangent / self.n


class ScaledOperator:
    """u -> S A S u with S = diag(``scale``): symmetric when A is, with the eigenvalues of S^2 A.

    ``scale`` is a flat positive vector of length operator.dim. Products are counted on this
    operator and on ``operator``. Memory: the scale and one temporary vector.
    """

    def __init__(self, operator: LinearOperator, scale: Tensor) -> None:
        if scale.shape != (operator.dim,) or not bool(torch.isfinite(scale).all()):
            raise InvalidArgumentError(
                "scale", tuple(scale.shape), f"a finite flat vector of length {operator.dim}"
            )
        self.operator = operator
        self.scale = scale.to(dtype=operator.dtype, device=operator.device)
        self.dim, self.dtype, self.device = operator.dim, operator.dtype, operator.device
        self.n_products = 0

    def matvec(self, vector: Tensor) -> Tensor:
        """S A S @ vector for a flat vector of length dim."""
        self.n_products += 1
        return self.scale * self.operator.matvec(self.scale * vector)


def loss_output_hessian(loss: str, outputs: Tensor, y: Tensor) -> OutputHessian:
    """t -> nabla^2_z L(z) t at z = outputs for the mean loss ``loss`` of rscbench.measure.losses.

    Scalar-output losses (square without 1/2, logistic): Lambda = diag(l''_i) / n.
    Cross-entropy on logits z (n, k): per row, (diag(p_i) - p_i p_i^T) / n with p_i = softmax(z_i).
    """
    chosen = get_loss(loss)
    n = outputs.shape[0]
    if chosen.second is not None:
        weights = chosen.second(outputs, y) / n
        return lambda tangent: weights * tangent
    probabilities = torch.softmax(outputs, dim=1)

    def softmax_hessian(tangent: Tensor) -> Tensor:
        inner = (probabilities * tangent).sum(dim=1, keepdim=True)
        return probabilities * (tangent - inner) / n

    return softmax_hessian


def _checked_outputs(model: nn.Module, X: Tensor, y: Tensor, loss: str) -> tuple[OutputFn, ParamDict, Tensor]:
    """(params -> outputs, the model's parameters, the outputs there) with the targets checked."""
    chosen = get_loss(loss)
    f = model_function(model)

    def outputs_of(params: ParamDict) -> Tensor:
        return scalar_output(f, params, X) if chosen.scalar_output else f(params, X)

    params = detached_params(model)
    outputs = outputs_of(params).detach()
    check_targets(chosen, outputs, y)
    return outputs_of, params, outputs


def gauss_newton_operator(
    model: nn.Module, X: Tensor, y: Tensor, loss: str = "square"
) -> GaussNewtonOperator:
    """The Gauss-Newton operator of the mean ``loss`` of ``model`` on (X, y), at its parameters.

    z = model(X) (shape (n,) for scalar-output losses, (n, k) logits for cross-entropy);
    Lambda from loss_output_hessian. Bad targets raise InvalidArgumentError naming ``y``.
    """
    outputs_of, params, outputs = _checked_outputs(model, X, y, loss)
    return GaussNewtonOperator(outputs_of, params, loss_output_hessian(loss, outputs, y))


def empirical_fisher_operator(
    model: nn.Module, X: Tensor, y: Tensor, loss: str = "square"
) -> EmpiricalFisherOperator:
    """The empirical Fisher (1/n) sum_i g_i g_i^T of the per-sample ``loss`` of ``model`` on (X, y)."""
    outputs_of, params, _ = _checked_outputs(model, X, y, loss)
    per_sample_loss = get_loss(loss).per_sample
    return EmpiricalFisherOperator(lambda p: per_sample_loss(outputs_of(p), y), params)
