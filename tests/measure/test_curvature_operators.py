"""Gauss-Newton and empirical Fisher operators against dense J^T Lambda J and (1/n) sum g_i g_i^T."""

import pytest
import torch
from torch.func import functional_call, hessian, jacrev

from dense import dense_hessian, dense_jacobian, not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure import (
    EmpiricalFisherOperator,
    GaussNewtonOperator,
    HessianOperator,
    LinearOperator,
    ScaledOperator,
    empirical_fisher_operator,
    gauss_newton_operator,
    loss_function,
)
from rscbench.measure.losses import get_loss
from rscbench.measure.params import detached_params
from rscbench.models import paper_mlp

N, D = 8, 4


def problem(loss: str, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(N, D, generator=generator, dtype=torch.float64)
    X = X * D**0.5 / X.norm(dim=1, keepdim=True)
    out_dim = 3 if loss == "cross_entropy" else 1
    model = paper_mlp(D, 6, 2, "tanh", 1.0, out_dim=out_dim, seed=seed + 1).double()
    if loss == "cross_entropy":
        y = torch.randint(0, 3, (N,), generator=generator)
    elif loss == "logistic":
        y = torch.where(torch.rand(N, generator=generator) < 0.5, -1.0, 1.0).double()
    else:
        y = torch.randn(N, generator=generator, dtype=torch.float64)
    return model, X, y


def dense_matrix(operator: LinearOperator) -> torch.Tensor:
    """The operator's matrix, one product per column."""
    return torch.stack(
        [operator.matvec(column) for column in torch.eye(operator.dim, dtype=torch.float64)], 1
    )


def dense_gauss_newton(model, X, y, loss: str) -> torch.Tensor:
    """J^T (nabla^2_z L) J with the output Hessian by torch.func.hessian and J by jacrev."""
    params = detached_params(model)
    chosen = get_loss(loss)

    def outputs(p):
        z = functional_call(model, p, (X,))
        return z.reshape(N) if chosen.scalar_output else z

    z = outputs(params).detach()
    jac = jacrev(outputs)(params)
    J = torch.cat([jac[name].reshape(z.numel(), -1) for name in params], dim=1)
    Lambda = hessian(lambda out: chosen.mean(out, y))(z).reshape(z.numel(), z.numel())
    return J.T @ Lambda @ J


@pytest.mark.parametrize("loss", ["square", "logistic", "cross_entropy"])
def test_gauss_newton_matches_dense(loss: str) -> None:
    model, X, y = problem(loss)
    operator = gauss_newton_operator(model, X, y, loss)
    assert isinstance(operator, LinearOperator)
    G = dense_matrix(operator)
    expected = dense_gauss_newton(model, X, y, loss)
    torch.testing.assert_close(G, expected, rtol=1e-10, atol=1e-13)
    assert operator.n_products == operator.dim
    assert torch.linalg.eigvalsh(G).min() >= -1e-12 * torch.linalg.eigvalsh(G).max()  # PSD: l convex in z


def test_gauss_newton_is_the_hessian_at_zero_residual() -> None:
    # For the square loss at targets y = f(X), H = G + sum_i l'_i nabla^2 f_i with every l'_i = 0.
    model, X, _ = problem("square", seed=3)
    y = model(X).detach().reshape(N)
    G = dense_matrix(gauss_newton_operator(model, X, y, "square"))
    H = dense_hessian(loss_function(model, X, y, "square"), detached_params(model))
    torch.testing.assert_close(G, H, rtol=1e-10, atol=1e-13)
    # ... and not away from it: the residual part R = H - G is then non-zero.
    y_far = y + 1.0
    G_far = dense_matrix(gauss_newton_operator(model, X, y_far, "square"))
    H_far = dense_hessian(loss_function(model, X, y_far, "square"), detached_params(model))
    assert (H_far - G_far).abs().max() > 1e-3


@pytest.mark.parametrize("loss", ["square", "logistic", "cross_entropy"])
def test_empirical_fisher_matches_per_sample_gradients(loss: str) -> None:
    model, X, y = problem(loss, seed=2)
    operator = empirical_fisher_operator(model, X, y, loss)
    params = detached_params(model)
    chosen = get_loss(loss)

    def per_sample(p):
        z = functional_call(model, p, (X,))
        return chosen.per_sample(z.reshape(N) if chosen.scalar_output else z, y)

    jac = jacrev(per_sample)(params)
    grads = torch.cat([jac[name].reshape(N, -1) for name in params], dim=1)
    torch.testing.assert_close(dense_matrix(operator), grads.T @ grads / N, rtol=1e-10, atol=1e-13)


def test_operators_on_any_function_of_a_parameter_dict() -> None:
    model = not_our_model(D)
    X, y = problem("square")[1:]
    params = detached_params(model)

    def outputs(p):
        return functional_call(model, p, (X,)).reshape(N)

    operator = GaussNewtonOperator(outputs, params, lambda t: 2 * t / N)
    J = dense_jacobian(model, X)
    torch.testing.assert_close(dense_matrix(operator), 2 * J.T @ J / N, rtol=1e-10, atol=1e-13)
    fisher = EmpiricalFisherOperator(lambda p: (outputs(p) - y) ** 2, params)
    residuals = (outputs(params) - y).detach()
    grads = 2 * residuals[:, None] * J
    torch.testing.assert_close(dense_matrix(fisher), grads.T @ grads / N, rtol=1e-10, atol=1e-13)
    assert isinstance(HessianOperator(lambda p: outputs(p).sum(), params), LinearOperator)


def test_bad_inputs_name_the_argument() -> None:
    model, X, y = problem("square")
    params = detached_params(model)
    with pytest.raises(InvalidArgumentError) as error:
        EmpiricalFisherOperator(lambda p: functional_call(model, p, (X,)).sum(), params)
    assert error.value.argument == "per_sample_loss_fn output shape"
    with pytest.raises(InvalidArgumentError) as error:
        gauss_newton_operator(model, X, y, "hinge")
    assert error.value.argument == "loss"
    with pytest.raises(InvalidArgumentError) as error:
        gauss_newton_operator(model, X, y[:3], "square")
    assert error.value.argument == "y.shape"


def test_scaled_operator_is_s_a_s() -> None:
    model, X, y = problem("square")
    params = detached_params(model)
    fn = loss_function(model, X, y, "square")
    H = dense_hessian(fn, params)
    scale = torch.linspace(0.5, 2.0, H.shape[0], dtype=torch.float64)
    operator = ScaledOperator(HessianOperator(fn, params), scale)
    torch.testing.assert_close(
        dense_matrix(operator), scale[:, None] * H * scale[None, :], rtol=1e-10, atol=1e-13
    )
    with pytest.raises(InvalidArgumentError) as error:
        ScaledOperator(HessianOperator(fn, params), scale[:3])
    assert error.value.argument == "scale"
