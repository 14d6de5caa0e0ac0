"""hessian_extremes, block norms and loss-Hessian extremes against dense torch.func.hessian + eigvalsh."""

import pytest
import torch

from dense import dense_hessian, not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import LOSSES, loss_function, loss_hessian_extremes
from rscbench.measure.params import detached_params
from rscbench.measure.spectrum import hessian_block_norm, hessian_extremes
from rscbench.models import paper_mlp


def data(n: int = 8, d: int = 4, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return X * (d**0.5) / X.norm(dim=1, keepdim=True), generator


def targets(loss: str, n: int, generator: torch.Generator) -> torch.Tensor:
    if loss == "logistic":
        return torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).double()
    if loss == "cross_entropy":
        return torch.randint(0, 3, (n,), generator=generator)
    return torch.randn(n, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", ["tanh", "softplus", "relu"])
def test_loss_hessian_extremes_match_eigvalsh(loss: str, activation: str) -> None:
    X, generator = data()
    out_dim = 3 if loss == "cross_entropy" else 1
    model = paper_mlp(4, 6, 2, activation, 1.0, out_dim=out_dim, seed=1).double()
    y = targets(loss, 8, generator)
    result = loss_hessian_extremes(model, X, y, loss, tol=1e-8)
    eigenvalues = torch.linalg.eigvalsh(
        dense_hessian(loss_function(model, X, y, loss), detached_params(model))
    )
    assert result.converged
    # Converged Ritz values at tol 1e-8 agree with the dense spectrum to ~1e-8 relative to the norm.
    scale = eigenvalues.abs().max().item()
    assert result.lambda_max == pytest.approx(eigenvalues[-1].item(), abs=1e-7 * scale)
    assert result.lambda_min == pytest.approx(eigenvalues[0].item(), abs=1e-7 * scale)
    assert result.norm == pytest.approx(scale, rel=1e-7)


def test_returned_value_is_within_its_own_tolerance_at_default_settings() -> None:
    X, generator = data(n=16, d=5)
    model = paper_mlp(5, 10, 3, "tanh", 1.0, seed=4).double()
    fn = loss_function(model, X, targets("square", 16, generator))
    eigenvalues = torch.linalg.eigvalsh(dense_hessian(fn, detached_params(model)))
    result = hessian_extremes(fn, detached_params(model))
    assert result.converged and result.stop_rule == "residual"
    assert abs(result.lambda_max - eigenvalues[-1].item()) <= result.residual_max
    assert abs(result.lambda_max - eigenvalues[-1].item()) <= 1e-3 * result.norm


def test_any_function_of_a_parameter_dict() -> None:
    model = not_our_model(4)
    X, generator = data()
    fn = loss_function(model, X, targets("square", 8, generator))
    eigenvalues = torch.linalg.eigvalsh(dense_hessian(fn, detached_params(model)))
    result = hessian_extremes(fn, detached_params(model), tol=1e-9)
    assert result.lambda_max == pytest.approx(eigenvalues[-1].item(), rel=1e-7)
    assert result.lambda_min == pytest.approx(eigenvalues[0].item(), rel=1e-6)


def test_hvp_count_is_reported() -> None:
    X, generator = data()
    model = paper_mlp(4, 6, 2, "tanh", 1.0).double()
    result = hessian_extremes(
        loss_function(model, X, targets("square", 8, generator)), detached_params(model)
    )
    assert result.n_hvp == result.iterations


@pytest.mark.parametrize(
    ("rows", "cols"),
    [(["W1"], ["W1"]), (["W2"], ["W2"]), (["v"], ["W2"]), (["W1"], ["W2"]), (["W1", "W2"], ["v"])],
)
def test_block_norms_match_dense_blocks(rows: list[str], cols: list[str]) -> None:
    model = paper_mlp(4, 5, 2, "tanh", 1.0, seed=2).double()
    X, _ = data(n=1)
    params = detached_params(model)

    def fn(p):
        return torch.func.functional_call(model, p, (X,))[0]

    H = dense_hessian(fn, params)
    offsets, position = {}, 0
    for name, value in params.items():
        offsets[name] = torch.arange(position, position + value.numel())
        position += value.numel()
    block = H[torch.cat([offsets[n] for n in rows])][:, torch.cat([offsets[n] for n in cols])]
    result = hessian_block_norm(fn, params, rows, cols, tol=1e-10)
    assert result.norm == pytest.approx(torch.linalg.matrix_norm(block, 2).item(), rel=1e-8)


def test_block_names_are_checked() -> None:
    params = {"a": torch.randn(2)}
    with pytest.raises(InvalidArgumentError) as error:
        hessian_block_norm(lambda p: (p["a"] ** 2).sum(), params, ["a"], ["b"])
    assert error.value.argument == "cols"
