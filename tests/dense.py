"""Dense twins of the matrix-free kernels, for tiny float64 cases only (independent references)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call, hessian, jacrev


def dense_hessian(fn, params: dict[str, Tensor]) -> Tensor:
    """The full Hessian of a scalar fn of a parameter dict, as a (p, p) matrix in the dict's order."""
    names = list(params)
    sizes = [params[name].numel() for name in names]

    def of_tuple(*tensors: Tensor) -> Tensor:
        return fn(dict(zip(names, tensors, strict=True)))

    blocks = hessian(of_tuple, argnums=tuple(range(len(names))))(*params.values())
    return torch.cat(
        [
            torch.cat([blocks[i][j].reshape(sizes[i], sizes[j]) for j in range(len(names))], 1)
            for i in range(len(names))
        ]
    )


def dense_jacobian(model: nn.Module, X: Tensor) -> Tensor:
    """J with J[i] = grad_theta f(theta; x_i) flattened, shape (n, p), for a scalar-output model."""
    params = {name: p.detach() for name, p in model.named_parameters()}

    def outputs(p: dict[str, Tensor]) -> Tensor:
        return functional_call(model, p, (X,)).reshape(X.shape[0])

    jac = jacrev(outputs)(params)
    return torch.cat([jac[name].reshape(X.shape[0], -1) for name in params], dim=1)


def not_our_model(in_dim: int, seed: int = 0) -> nn.Module:
    """A model that is not the paper's: biases, GELU and softplus, a 1-unit linear head."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(in_dim, 7), nn.GELU(), nn.Linear(7, 5), nn.Softplus(), nn.Linear(5, 1)
    ).double()
