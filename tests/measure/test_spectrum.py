"""hessian_extremes, block norms and loss-Hessian extremes against dense torch.func.hessian + eigvalsh."""

import itertools

import pytest
import torch

from dense import dense_hessian, not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import LOSSES, loss_function
from rscbench.measure.params import detached_params
from rscbench.measure.spaces import loss_hessian_extremes
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


SPACE_CASES = [(loss, "full") for loss in LOSSES] + [("square", "structured"), ("logistic", "structured")]


@pytest.mark.parametrize(("loss", "space"), SPACE_CASES)
@pytest.mark.parametrize("activation", ["tanh", "softplus", "relu"])
@pytest.mark.parametrize("depth", [1, 3])
def test_loss_hessian_extremes_match_eigvalsh(loss: str, space: str, activation: str, depth: int) -> None:
    X, generator = data()
    out_dim = 3 if loss == "cross_entropy" else 1
    model = paper_mlp(4, 6, depth, activation, 1.0, out_dim=out_dim, seed=1).double()
    y = targets(loss, 8, generator)
    result = loss_hessian_extremes(model, X, y, loss, tol=1e-8, space=space)
    eigenvalues = torch.linalg.eigvalsh(
        dense_hessian(loss_function(model, X, y, loss), detached_params(model))
    )
    assert result.converged and result.space == space
    # Converged Ritz values at tol 1e-8 agree with the dense spectrum to ~1e-8 relative to the norm.
    scale = eigenvalues.abs().max().item()
    assert result.lambda_max == pytest.approx(eigenvalues[-1].item(), abs=1e-7 * scale)
    assert result.lambda_min == pytest.approx(eigenvalues[0].item(), abs=1e-7 * scale)
    assert result.norm == pytest.approx(scale, rel=1e-7)
    # The one-sided error bounds hold.
    assert eigenvalues[-1].item() <= result.lambda_max + result.error_max + 1e-12 * scale
    assert eigenvalues[0].item() >= result.lambda_min - result.error_min - 1e-12 * scale


def test_structured_space_adds_the_complement_zero() -> None:
    # Wide, few samples: dim S < p, and at a point with tiny residuals H is nearly PSD, so the
    # dense lambda_min is the complement's 0 (up to the residual part) and must be found.
    X, generator = data(n=3, d=4)
    model = paper_mlp(4, 12, 2, "tanh", 1.0, seed=5).double()
    y = model(X).detach() + 1e-9 * targets("square", 3, generator)
    eigenvalues = torch.linalg.eigvalsh(dense_hessian(loss_function(model, X, y), detached_params(model)))
    result = loss_hessian_extremes(model, X, y, tol=1e-8, space="structured")
    scale = eigenvalues.abs().max().item()
    assert result.lambda_min == pytest.approx(eigenvalues[0].item(), abs=1e-7 * scale)
    assert result.lambda_max == pytest.approx(eigenvalues[-1].item(), abs=1e-7 * scale)


def test_auto_space_picks_the_subspace_only_where_it_is_small() -> None:
    X, generator = data(n=4, d=4)
    y = targets("square", 4, generator)
    wide = paper_mlp(4, 40, 2, "tanh", 1.0).double()
    assert loss_hessian_extremes(wide, X, y).space == "structured"
    narrow = paper_mlp(4, 3, 2, "tanh", 1.0).double()
    assert loss_hessian_extremes(narrow, X, y).space == "full"
    assert loss_hessian_extremes(not_our_model(4), X, y).space == "full"
    with pytest.raises(InvalidArgumentError) as error:
        loss_hessian_extremes(not_our_model(4), X, y, space="structured")
    assert error.value.argument == "space"


def test_returned_value_is_within_its_own_tolerance_at_default_settings() -> None:
    X, generator = data(n=16, d=5)
    model = paper_mlp(5, 10, 3, "tanh", 1.0, seed=4).double()
    fn = loss_function(model, X, targets("square", 16, generator))
    eigenvalues = torch.linalg.eigvalsh(dense_hessian(fn, detached_params(model)))
    result = hessian_extremes(fn, detached_params(model))
    assert result.converged and result.stop_rule in ("kato_temple", "residual")
    for value, error, exact in (
        (result.lambda_max, result.error_max, eigenvalues[-1].item()),
        (result.lambda_min, result.error_min, eigenvalues[0].item()),
    ):
        assert abs(value - exact) <= error + 1e-14 <= 1e-3 * result.norm


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


NETWORKS = [
    # (activation, depth, width, n, loss, sigma1)
    ("tanh", 3, 12, 6, "square", 1.0),
    ("softplus", 2, 14, 5, "logistic", 2.0),
    ("gelu", 3, 10, 8, "square", 1.5),
    ("relu", 2, 12, 4, "square", 1.0),
    ("silu", 1, 20, 6, "logistic", 1.0),
]


@pytest.mark.parametrize("space", ["full", "structured"])
@pytest.mark.parametrize("network", NETWORKS, ids=lambda case: f"{case[0]}-L{case[1]}-{case[4]}")
def test_every_target_meets_its_tolerance_on_network_hessians(network: tuple, space: str) -> None:
    activation, depth, width, n, loss, sigma1 = network
    X, generator = data(n=n, d=4, seed=depth)
    model = paper_mlp(4, width, depth, activation, sigma1, seed=width).double()
    y = targets(loss, n, generator)
    eigenvalues = torch.linalg.eigvalsh(
        dense_hessian(loss_function(model, X, y, loss), detached_params(model))
    )
    top, bottom = eigenvalues[-1].item(), eigenvalues[0].item()
    norm = max(top, -bottom)
    for tol, target, seed in itertools.product(
        (1e-3, 1e-5), ("largest", "smallest", "both", "norm"), range(2)
    ):
        result = loss_hessian_extremes(model, X, y, loss, tol=tol, target=target, seed=seed, space=space)
        errors = {"largest": top - result.lambda_max, "smallest": result.lambda_min - bottom}
        errors |= {"both": max(errors.values()), "norm": abs(norm - result.norm)}
        assert result.converged and errors[target] <= tol * norm, (tol, target, seed, errors[target] / norm)
