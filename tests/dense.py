"""Dense twins of the matrix-free kernels, for tiny float64 cases only (independent references)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call, hessian, jacrev

from rscbench.measure.losses import loss_function
from rscbench.measure.params import detached_params
from rscbench.models import paper_mlp


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


class DenseOperator:
    """A dense symmetric matrix as a rscbench.measure LinearOperator (matvec counts products)."""

    def __init__(self, matrix: Tensor) -> None:
        self.matrix = matrix
        self.dim, self.dtype, self.device = matrix.shape[0], matrix.dtype, matrix.device
        self.n_products = 0

    def matvec(self, vector: Tensor) -> Tensor:
        self.n_products += 1
        return self.matrix @ vector


def spectrum_matrix(eigenvalues: Tensor, seed: int = 0) -> Tensor:
    """Q diag(eigenvalues) Q^T with Q a Haar-random orthogonal matrix drawn from ``seed`` (float64)."""
    generator = torch.Generator().manual_seed(seed)
    size = eigenvalues.shape[0]
    Q, R = torch.linalg.qr(torch.randn(size, size, generator=generator, dtype=torch.float64))
    Q = Q * torch.sign(torch.diagonal(R))
    matrix = Q @ torch.diag(eigenvalues.to(torch.float64)) @ Q.T
    return (matrix + matrix.T) / 2


def tiny_hessian_problem():
    """(L, params, dense H) for the square loss of a depth-2 tanh paper_mlp (p = 66) in float64."""
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(8, 4, generator=generator, dtype=torch.float64)
    X = X * 2 / X.norm(dim=1, keepdim=True)
    y = torch.randn(8, generator=generator, dtype=torch.float64)
    model = paper_mlp(4, 6, 2, "tanh", 1.0, seed=1).double()
    fn = loss_function(model, X, y, "square")
    params = detached_params(model)
    return fn, params, dense_hessian(fn, params)
