"""Exact Hessian-vector products of a scalar function of a parameter dict, never forming the Hessian.

Three methods, all exact (docs/kernels.md; timings in benchmarks/pytest):
- ``"reuse"``: build the first-order graph grad fn(theta) once, then each product is one backward
  through it (double backward with the graph kept). Fastest on CPU inside an iterative solver
  (1.6-1.9x a gradient); holds the first-order graph between products.
- ``"double_backward"``: rebuild the gradient graph for every product (2.6-3.0x a gradient).
- ``"forward_over_reverse"``: torch.func.jvp of torch.func.grad; slowest on CPU, lighter in
  memory for activation-heavy models on GPU.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError
from rscbench.measure.params import FlatLayout, ParamDict, ScalarFn, require_scalar

__all__ = ["HVP_METHODS", "HessianOperator", "hvp"]

HVP_METHODS = ("reuse", "double_backward", "forward_over_reverse")


class HessianOperator:
    """The linear map u -> H u with H = nabla^2 fn(params), acting on flat vectors of length ``dim``.

    ``n_products`` counts the Hessian-vector products taken. With method "reuse" the operator holds
    the first-order graph and one gradient (one parameter-sized vector) for its lifetime.
    """

    def __init__(self, fn: ScalarFn, params: Mapping[str, Tensor], method: str = "reuse") -> None:
        if method not in HVP_METHODS:
            raise InvalidArgumentError("method", method, "one of " + ", ".join(HVP_METHODS))
        self.layout = FlatLayout(params)
        self.fn, self.method = fn, method
        self.params = {name: value.detach() for name, value in params.items()}
        self.dim, self.dtype, self.device = self.layout.dim, self.layout.dtype, self.layout.device
        self.n_products = 0
        self._leaves: list[Tensor] = []
        self._grads: tuple[Tensor, ...] = ()
        if method == "reuse":
            self._leaves, self._grads = self._gradient_graph()
        else:
            require_scalar(fn(self.params))

    def _gradient_graph(self) -> tuple[list[Tensor], tuple[Tensor, ...]]:
        leaves = [value.clone().requires_grad_(True) for value in self.params.values()]
        value = require_scalar(self.fn(dict(zip(self.layout.names, leaves, strict=True))))
        grads = torch.autograd.grad(value, leaves, create_graph=True, allow_unused=True)
        return leaves, tuple(
            torch.zeros_like(p) if g is None else g for p, g in zip(leaves, grads, strict=True)
        )

    def gradient(self) -> Tensor:
        """The flat gradient nabla fn(params), detached."""
        if self.method == "reuse":
            return torch.cat([g.detach().reshape(-1) for g in self._grads])
        _, grads = self._gradient_graph()
        return torch.cat([g.detach().reshape(-1) for g in grads])

    def matvec(self, vector: Tensor) -> Tensor:
        """H @ vector for a flat vector of length dim; returns a flat detached tensor."""
        self.n_products += 1
        tangent = self.layout.unflatten(vector.to(self.dtype))
        if self.method == "forward_over_reverse":
            _, hv = torch.func.jvp(torch.func.grad(self.fn), (self.params,), (tangent,))
            return self.layout.flatten(hv).detach()
        if self.method == "reuse":
            leaves, grads = self._leaves, self._grads
        else:
            leaves, grads = self._gradient_graph()
        connected = [i for i, g in enumerate(grads) if g.requires_grad]
        products: list[Tensor | None] = [None] * len(leaves)
        if connected:
            names = self.layout.names
            found = torch.autograd.grad(
                [grads[i] for i in connected],
                leaves,
                grad_outputs=[tangent[names[i]] for i in connected],
                retain_graph=self.method == "reuse",
                allow_unused=True,
            )
            products = list(found)
        return torch.cat(
            [
                (torch.zeros_like(p) if hv is None else hv).reshape(-1)
                for p, hv in zip(leaves, products, strict=True)
            ]
        ).detach()


def hvp(
    fn: ScalarFn,
    params: Mapping[str, Tensor],
    vector: Mapping[str, Tensor],
    *,
    method: str = "double_backward",
) -> ParamDict:
    """One exact Hessian-vector product nabla^2 fn(params) @ vector, as a dict shaped like params.

    ``fn`` maps a parameter dict to a scalar tensor; ``vector`` has the names and shapes of
    ``params``. Units: those of fn divided by the squared units of the parameters.
    """
    operator = HessianOperator(fn, params, method)
    return operator.layout.unflatten(operator.matvec(operator.layout.flatten(vector)))
