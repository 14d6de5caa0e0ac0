"""Hessian-vector products against the dense torch.func.hessian, for every method and model kind."""

import pytest
import torch

from dense import dense_hessian, not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure.hvp import HVP_METHODS, HessianOperator, hvp
from rscbench.measure.losses import loss_function
from rscbench.measure.params import FlatLayout, detached_params
from rscbench.models import paper_mlp

MODELS = {
    "paper-tanh-L3": lambda: paper_mlp(4, 6, 3, "tanh", 1.0, seed=1).double(),
    "paper-gelu-L2-unscaled": lambda: paper_mlp(4, 5, 2, "gelu", 2.0, seed=2, scale_input=False).double(),
    "not-ours-biases": lambda: not_our_model(4),
}


def case(name: str):
    model = MODELS[name]()
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(7, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(7, generator=generator, dtype=torch.float64)
    return loss_function(model, X, y, "square"), detached_params(model)


@pytest.mark.parametrize("method", HVP_METHODS)
@pytest.mark.parametrize("model_name", MODELS)
def test_hvp_matches_dense(model_name: str, method: str) -> None:
    fn, params = case(model_name)
    layout = FlatLayout(params)
    H = dense_hessian(fn, params)
    vector = {name: torch.randn_like(value) for name, value in params.items()}
    product = layout.flatten(hvp(fn, params, vector, method=method))
    # float64 exact products differ from the dense H v only by rounding (~1e-15 relative).
    torch.testing.assert_close(product, H @ layout.flatten(vector), rtol=1e-11, atol=1e-13)


def test_reused_graph_gives_the_same_products_every_call() -> None:
    fn, params = case("paper-tanh-L3")
    operator = HessianOperator(fn, params, "reuse")
    H = dense_hessian(fn, params)
    for seed in range(3):
        v = torch.randn(operator.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        torch.testing.assert_close(operator.matvec(v), H @ v, rtol=1e-11, atol=1e-13)
    assert operator.n_products == 3


def test_parameters_the_function_ignores_get_zero_products() -> None:
    params = {"a": torch.randn(3, dtype=torch.float64), "b": torch.randn(2, dtype=torch.float64)}
    for method in HVP_METHODS:
        out = hvp(
            lambda p: (p["a"] ** 2).sum(),
            params,
            {k: torch.ones_like(v) for k, v in params.items()},
            method=method,
        )
        torch.testing.assert_close(out["a"], 2 * torch.ones(3, dtype=torch.float64))
        assert torch.equal(out["b"], torch.zeros(2, dtype=torch.float64))


def test_non_scalar_function_is_refused() -> None:
    params = {"a": torch.randn(3)}
    with pytest.raises(InvalidArgumentError) as error:
        hvp(lambda p: p["a"] ** 2, params, {"a": torch.ones(3)})
    assert error.value.argument == "fn output"


def test_mismatched_vector_is_refused() -> None:
    params = {"a": torch.randn(3)}
    with pytest.raises(InvalidArgumentError) as error:
        hvp(lambda p: (p["a"] ** 2).sum(), params, {"a": torch.ones(4)})
    assert error.value.argument == "vector['a'].shape"
    with pytest.raises(InvalidArgumentError) as error:
        hvp(lambda p: (p["a"] ** 2).sum(), params, {"b": torch.ones(3)})
    assert error.value.argument == "vector keys"


def test_unknown_method_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        HessianOperator(lambda p: p["a"].sum(), {"a": torch.ones(2)}, "finite_differences")
    assert error.value.argument == "method"
