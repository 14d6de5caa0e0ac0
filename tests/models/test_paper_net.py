"""paper_mlp: architecture, parameter order, init statistics and argument checks (docs/science.md, api.md)."""

import math

import pytest
import torch

from rscbench.errors import InvalidArgumentError
from rscbench.models import init_std, paper_mlp


def test_parameters_in_forward_order_without_biases() -> None:
    model = paper_mlp(5, 16, 3, "tanh", 1.0)
    assert [name for name, _ in model.named_parameters()] == ["W1", "W2", "W3", "v"]
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(16, 5), (16, 16), (16, 16), (16,)]


def test_forward_matches_the_formula() -> None:
    model = paper_mlp(4, 8, 2, "softplus", 1.3, seed=3).double()
    X = torch.randn(6, 4, dtype=torch.float64)
    W1, W2, v = model.W1, model.W2, model.v
    phi = torch.nn.functional.softplus
    expected = phi(W2 @ phi(W1 @ X.T / math.sqrt(4)) / math.sqrt(8)).T @ v / math.sqrt(8)
    torch.testing.assert_close(model(X), expected, rtol=1e-14, atol=0)
    assert model(X).shape == (6,)


def test_unscaled_first_layer_option() -> None:
    scaled = paper_mlp(9, 8, 1, "tanh", 1.0, seed=1).double()
    unscaled = paper_mlp(9, 8, 1, "tanh", 1.0, seed=1, scale_input=False).double()
    X = torch.randn(3, 9, dtype=torch.float64)
    torch.testing.assert_close(unscaled(X / 3.0), scaled(X), rtol=1e-14, atol=0)


def test_multiclass_head_shape_and_unit_columns() -> None:
    model = paper_mlp(4, 32, 2, "gelu", 1.0, out_dim=3)
    assert model(torch.randn(5, 4)).shape == (5, 3)
    torch.testing.assert_close(model.v.norm(dim=0), torch.ones(3), rtol=1e-6, atol=0)


def test_init_statistics() -> None:
    width, sigma1 = 512, 1.5
    model = paper_mlp(64, width, 3, "tanh", sigma1, seed=7)
    sigma0 = sigma1 / (2 * (1 + math.sqrt(math.log(width) / (2 * width))))
    assert init_std(sigma1, width) == pytest.approx(sigma0, rel=1e-15)
    for weight in model.weights():
        # The sample std of >= 32768 Gaussian entries is within 3% of sigma0 with overwhelming probability.
        assert weight.std().item() == pytest.approx(sigma0, rel=0.03)
        assert abs(weight.mean().item()) < 0.03 * sigma0
        assert torch.linalg.matrix_norm(weight, 2).item() <= sigma1 * math.sqrt(width)
    assert model.v.norm().item() == pytest.approx(1.0, rel=1e-6)


def test_same_seed_same_weights_other_seed_differs() -> None:
    a, b, c = (paper_mlp(3, 8, 2, "tanh", 1.0, seed=s) for s in (1, 1, 2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.W1, c.W1)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"width": 0}, "width"),
        ({"width": -4}, "width"),
        ({"depth": 0}, "depth"),
        ({"sigma1": 0.0}, "sigma1"),
        ({"sigma1": -1.0}, "sigma1"),
        ({"sigma1": float("nan")}, "sigma1"),
        ({"activation": "swish2"}, "activation"),
        ({"in_dim": 0}, "in_dim"),
        ({"out_dim": 0}, "out_dim"),
        ({"width": 2.5}, "width"),
    ],
    ids=lambda value: str(value),
)
def test_bad_arguments_raise_one_typed_error(kwargs: dict, argument: str) -> None:
    arguments = {"in_dim": 3, "width": 8, "depth": 2, "activation": "tanh", "sigma1": 1.0} | kwargs
    with pytest.raises(InvalidArgumentError) as error:
        paper_mlp(**arguments)
    assert error.value.argument == argument
    assert argument in str(error.value) and "allowed" in str(error.value)


def test_wrong_input_width_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        paper_mlp(3, 8, 1, "tanh", 1.0)(torch.randn(2, 4))
    assert error.value.argument == "X.shape"
