"""docs/api.md: the public API works exactly as documented, on a model that is not ours."""

import inspect
import re
from pathlib import Path

import torch

import rscbench.measure as measure
from dense import not_our_model
from rscbench.models import paper_mlp


def test_documented_signatures() -> None:
    assert list(inspect.signature(paper_mlp).parameters)[:5] == [
        "in_dim",
        "width",
        "depth",
        "activation",
        "sigma1",
    ]
    assert {"out_dim", "seed"} <= set(inspect.signature(paper_mlp).parameters)
    assert list(inspect.signature(measure.hvp).parameters)[:3] == ["fn", "params", "vector"]
    extremes = inspect.signature(measure.hessian_extremes).parameters
    assert {"tol", "max_iter", "seed"} <= set(extremes) and extremes["tol"].default == 1e-3
    assert list(inspect.signature(measure.restricted_curvature).parameters)[:3] == [
        "loss_fn",
        "params",
        "direction",
    ]
    certificate = inspect.signature(measure.rsc_certificate).parameters
    assert certificate["loss"].default == "square" and certificate["kappa"].default == 0.5


def test_every_documented_call_on_a_model_that_is_not_ours() -> None:
    model = not_our_model(4)
    X = torch.randn(10, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.randn(10, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    params = {name: p.detach() for name, p in model.named_parameters()}
    loss_fn = measure.loss_function(model, X, y)

    product = measure.hvp(loss_fn, params, {name: torch.ones_like(p) for name, p in params.items()})
    assert isinstance(product, dict) and list(product) == list(params)

    top = measure.hessian_extremes(loss_fn, params, tol=1e-3, seed=0)
    assert (
        isinstance(top.lambda_max, float) and isinstance(top.n_hvp, int) and isinstance(top.converged, bool)
    )
    assert top.norm == max(abs(top.lambda_max), abs(top.lambda_min))

    norms = measure.predictor_hessian_norms(model, X, tol=1e-3)
    assert norms.shape == (10,)
    assert measure.ntk_gram(model, X).shape == (10, 10)

    direction = measure.average_predictor_gradient(model, X)
    bounds = measure.restricted_curvature(loss_fn, params, direction, kappa=0.5)
    assert isinstance(bounds.lower, float) and bounds.lower <= bounds.upper

    certificate = measure.rsc_certificate(model, X, y, loss="square", kappa=0.5)
    for field in ("g_bar_sqnorm", "lambda_min_R", "lower_gn", "lower_generic", "lower", "upper"):
        assert isinstance(getattr(certificate, field), float)
    assert certificate.lower == max(certificate.lower_gn, certificate.lower_generic)


def test_paper_mlp_shapes_as_documented() -> None:
    model = paper_mlp(6, 8, 3, "tanh", 1.0)
    assert model(torch.randn(5, 6)).shape == (5,)
    assert [tuple(p.shape) for p in model.parameters()] == [(8, 6), (8, 8), (8, 8), (8,)]


def test_curvature_estimators_as_documented_on_a_model_that_is_not_ours() -> None:
    model = not_our_model(4)
    X = torch.randn(10, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.randn(10, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    params = {name: p.detach() for name, p in model.named_parameters()}
    H = measure.HessianOperator(measure.loss_function(model, X, y), params)
    for operator in (
        H,
        measure.gauss_newton_operator(model, X, y),
        measure.empirical_fisher_operator(model, X, y),
    ):
        assert isinstance(operator, measure.LinearOperator)
        trace = measure.hutchpp_trace(operator, n_products=30)
        assert trace.ci_low <= trace.value <= trace.ci_high and trace.n_products == 30
        assert measure.hutchinson_trace(operator, n_samples=5).n_products == 5
        density = measure.spectral_density(operator, n_vectors=2, steps=10)
        assert density.nodes.shape == (2, 10) and isinstance(density.moment(1)[0], float)
        top = measure.top_eigenpairs(operator, 2)
        assert top.values.shape == (2,) and top.vectors.shape == (2, operator.dim)
    assert inspect.signature(measure.top_eigenpairs).parameters["which"].default == "largest"
    assert inspect.signature(measure.hutchpp_trace).parameters["n_products"].default == 99


def test_the_api_page_examples_run() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    estimators = next(block for block in blocks if "hutchpp_trace(H" in block)
    exec(compile(estimators, "docs/api.md", "exec"), {})
