"""Where the loss-Hessian quantities of a model at one point are computed: parameter space or the subspace S.

Both spaces offer the same operations on flat vectors of their own length: products with the loss
Hessian H and with its residual part R = H - G, the coordinates of g_bar, a projection that maps
any vector into the space, and the count of products taken. ``complement`` says whether the space
is a proper subspace of parameter space; H, G and R are then 0 on the rest, so the eigenvalue 0 is
added to every extreme computed in it.

- ``FullSpace``: any model; products by rscbench.measure.hvp (the gradient graph kept), R by
  subtracting the Gauss-Newton product J^T diag(l''/n) J u (a jvp and a vjp).
- ``StructuredSpace``: the paper's network with a scalar loss (rscbench.measure.structured):
  vectors of length dim S ~ 2 n L m + m, closed-form products.

``loss_space`` picks the structured one where it applies and its vectors are at most
STRUCTURED_MAX_FRACTION of the parameters (space="auto", SubspaceDims.preferred);
``loss_hessian_extremes`` is Q3 in the space it picks.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import jvp, vjp

from rscbench.errors import InvalidArgumentError
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.krylov import random_start
from rscbench.measure.lanczos import DEFAULT_MAX_ITER, lanczos
from rscbench.measure.losses import get_loss, loss_function
from rscbench.measure.params import FlatLayout, detached_params, model_function, scalar_output
from rscbench.measure.spectrum import HessianExtremes, hessian_extremes
from rscbench.measure.structured import LossSubspace, loss_subspace_dims
from rscbench.models.paper_net import PaperMLP

__all__ = [
    "SPACES",
    "FullSpace",
    "StructuredSpace",
    "average_predictor_gradient",
    "choose_space",
    "loss_hessian_extremes",
    "loss_space",
    "structured_applies",
]

SPACES = ("auto", "full", "structured")


def average_predictor_gradient(model: nn.Module, X: Tensor) -> dict[str, Tensor]:
    """g_bar(theta) = (1/n) sum_i nabla_theta f(theta; x_i), as a dict shaped like the parameters (Q4).

    Units: output units per parameter unit. One backward pass of the mean prediction.
    """
    f = model_function(model)
    params = {name: value.clone().requires_grad_(True) for name, value in detached_params(model).items()}
    mean = scalar_output(f, params, X).mean()
    grads = torch.autograd.grad(mean, list(params.values()), allow_unused=True)
    return {
        name: (torch.zeros_like(value) if g is None else g).detach()
        for (name, value), g in zip(params.items(), grads, strict=True)
    }


class FullSpace:
    """Parameter space: vectors of length p, for any model with a scalar output per row."""

    name = "full"
    complement = False

    def __init__(self, model: nn.Module, X: Tensor, y: Tensor, loss: str) -> None:
        self.model, self.X, self.y, self.loss = model, X, y, get_loss(loss)
        self.params = detached_params(model)
        self.operator = HessianOperator(loss_function(model, X, y, loss), self.params, "reuse")
        self.layout: FlatLayout = self.operator.layout
        self.size, self.dtype, self.device = self.layout.dim, self.layout.dtype, self.layout.device
        self._gauss_newton = None

    @property
    def n_products(self) -> int:
        """Products with H or R taken so far."""
        return self.operator.n_products

    def hessian(self, vector: Tensor) -> Tensor:
        """H @ vector."""
        return self.operator.matvec(vector)

    def residual(self, vector: Tensor) -> Tensor:
        """R @ vector = H @ vector - J^T diag(l''/n) J @ vector (the outputs' linearization is built once)."""
        if self._gauss_newton is None:
            f = model_function(self.model)

            def outputs_of(p: dict[str, Tensor]) -> Tensor:
                return scalar_output(f, dict(p), self.X)

            outputs, pullback = vjp(outputs_of, self.params)
            weights = self.loss.second(outputs.detach(), self.y) / self.X.shape[0]
            self._gauss_newton = (outputs_of, pullback, weights)
        outputs_of, pullback, weights = self._gauss_newton
        tangent = self.layout.unflatten(vector)
        _, jacobian_product = jvp(outputs_of, (self.params,), (tangent,))
        (gauss_newton,) = pullback(weights * jacobian_product)
        return self.operator.matvec(vector) - self.layout.flatten(gauss_newton)

    def project(self, vector: Tensor) -> Tensor:
        """The identity: every vector of length p is in the space."""
        return vector

    def mean_output_gradient(self) -> Tensor:
        """g_bar, flat."""
        return self.layout.flatten(average_predictor_gradient(self.model, self.X))


class StructuredSpace:
    """The subspace S of the paper's network (rscbench.measure.structured.LossSubspace)."""

    name = "structured"

    def __init__(self, model: PaperMLP, X: Tensor, y: Tensor, loss: str) -> None:
        self.subspace = LossSubspace(model, X, y, get_loss(loss))
        self.size, self.dtype, self.device = self.subspace.size, X.dtype, X.device
        self.complement = self.subspace.dims.complement

    @property
    def n_products(self) -> int:
        """Products with H or R taken so far."""
        return self.subspace.n_products

    def hessian(self, vector: Tensor) -> Tensor:
        """H @ vector in the coordinates of S."""
        return self.subspace.product(vector, "hessian")

    def residual(self, vector: Tensor) -> Tensor:
        """R @ vector in the coordinates of S."""
        return self.subspace.product(vector, "residual")

    def project(self, vector: Tensor) -> Tensor:
        """The coordinates of S's orthogonal projection Pi (Q blocks orthogonal to their U)."""
        return self.subspace.project(vector)

    def mean_output_gradient(self) -> Tensor:
        """g_bar's coordinates in S."""
        return self.subspace.mean_output_gradient()


def structured_applies(model: nn.Module, loss: str) -> bool:
    """Whether S exists for this model and loss (the paper's network, one output, a scalar loss)."""
    return isinstance(model, PaperMLP) and model.out_dim == 1 and get_loss(loss).scalar_output


def choose_space(model: nn.Module, X: Tensor, loss: str, space: str = "auto") -> str:
    """ "full" or "structured": the space loss_space builds for ``space``.

    ``space`` "structured" asks for S (the paper's network with a scalar loss only), "full" for
    parameter space, "auto" for S where structured_applies and SubspaceDims.preferred (its
    coordinates at most STRUCTURED_MAX_FRACTION of the parameters).
    """
    if space not in SPACES:
        raise InvalidArgumentError("space", space, "one of " + ", ".join(SPACES))
    applies = structured_applies(model, loss)
    if space == "structured" and not applies:
        raise InvalidArgumentError(
            "space", space, "'structured' only for a PaperMLP with out_dim=1 and the square or logistic loss"
        )
    if space != "auto":
        return space
    if not applies:
        return "full"
    dims = loss_subspace_dims(X.shape[0], model.in_dim, model.width, model.depth)
    return "structured" if dims.preferred else "full"


def loss_space(
    model: nn.Module, X: Tensor, y: Tensor, loss: str, space: str = "auto"
) -> FullSpace | StructuredSpace:
    """The space the loss-Hessian quantities of (model, X, y, loss) are computed in (choose_space)."""
    if choose_space(model, X, loss, space) == "structured":
        return StructuredSpace(model, X, y, loss)
    return FullSpace(model, X, y, loss)


def loss_hessian_extremes(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    loss: str = "square",
    *,
    tol: float = 1e-3,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: int = 0,
    target: str = "both",
    space: str = "auto",
) -> HessianExtremes:
    """beta_hat = ||nabla^2 L(theta)||_2, lambda_max and lambda_min of the loss Hessian (Q3).

    In the space loss_space picks (``space``): in S the extremes of H on S, with the eigenvalue 0
    of the complement added where dim S < p; in parameter space hessian_extremes. Stopping and
    ``target`` as for hessian_extremes. Units: loss units per squared parameter unit.
    """
    if choose_space(model, X, loss, space) == "full":
        fn = loss_function(model, X, y, loss)
        return hessian_extremes(
            fn, detached_params(model), tol=tol, max_iter=max_iter, seed=seed, target=target
        )
    where = StructuredSpace(model, X, y, loss)
    start = where.project(random_start(1, where.size, seed=seed, dtype=where.dtype, device=where.device)[0])
    result = lanczos(
        lambda block: where.hessian(block[0])[None], start[None], tol=tol, max_iter=max_iter, target=target
    )
    extremes = HessianExtremes.from_lanczos(result, 0, where.n_products, space=where.name)
    return extremes.including_zero() if where.complement else extremes
