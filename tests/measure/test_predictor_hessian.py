"""Per-probe predictor-Hessian norms (Q1) for every strategy against the dense Hessian of each probe."""

import warnings

import numpy as np
import pytest
import torch

from dense import dense_hessian, not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure.memory import (
    MemoryBudgetError,
    predictor_probe_bytes,
    saved_activation_bytes,
    structured_dim,
)
from rscbench.measure.params import detached_params, model_function
from rscbench.measure.predictor_hessian import (
    ConvergenceWarning,
    predictor_hessian_norms,
    predictor_hessian_spectra,
)
from rscbench.models import paper_mlp

PAPER_CASES = {
    "tanh-L1": dict(depth=1, activation="tanh", sigma1=1.0),
    "tanh-L3": dict(depth=3, activation="tanh", sigma1=1.0),
    "gelu-L2-unscaled": dict(depth=2, activation="gelu", sigma1=2.0, scale_input=False),
    "softplus-L2-sigma3": dict(depth=2, activation="softplus", sigma1=3.0),
    "silu-L3": dict(depth=3, activation="silu", sigma1=0.5),
    "relu-L2": dict(depth=2, activation="relu", sigma1=1.0),
}


def dense_norms(model: torch.nn.Module, X: torch.Tensor) -> torch.Tensor:
    f, params = model_function(model), detached_params(model)
    norms = []
    for row in X:
        H = dense_hessian(lambda p, x=row: f(p, x[None]).reshape(()), params)
        norms.append(torch.linalg.eigvalsh(H).abs().max())
    return torch.stack(norms)


def inputs(n: int = 5, d: int = 4) -> torch.Tensor:
    X = torch.randn(n, d, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return X * d**0.5 / X.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("strategy", ["structured", "loop", "vmap"])
@pytest.mark.parametrize("case", PAPER_CASES)
def test_paper_network_norms_match_dense(case: str, strategy: str) -> None:
    options = dict(PAPER_CASES[case])
    depth, activation, sigma1 = options.pop("depth"), options.pop("activation"), options.pop("sigma1")
    model = paper_mlp(4, 6, depth, activation, sigma1, seed=5, **options).double()
    X = inputs()
    spectra = predictor_hessian_spectra(model, X, tol=1e-10, strategy=strategy)
    assert spectra.strategy == strategy and bool(spectra.converged.all())
    # Converged at tol 1e-10 (or exact on an invariant subspace): agreement to ~1e-9 relative.
    torch.testing.assert_close(spectra.norms, dense_norms(model, X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("strategy", ["auto", "loop", "vmap"])
def test_model_that_is_not_ours(strategy: str) -> None:
    model = not_our_model(4)
    X = inputs()
    norms = predictor_hessian_norms(model, X, tol=1e-10, strategy=strategy)
    torch.testing.assert_close(norms, dense_norms(model, X), rtol=1e-9, atol=1e-12)


def test_auto_uses_structured_for_the_paper_network_on_cpu_and_loop_otherwise() -> None:
    X = inputs()
    assert predictor_hessian_spectra(paper_mlp(4, 6, 2, "tanh", 1.0).double(), X).strategy == "structured"
    assert predictor_hessian_spectra(not_our_model(4), X).strategy == "loop"


def test_default_tolerance_is_met() -> None:
    model = paper_mlp(4, 16, 3, "tanh", 1.0, seed=2).double()
    X = inputs(n=4)
    spectra = predictor_hessian_spectra(model, X)
    reference = dense_norms(model, X)
    assert ((spectra.norms - reference).abs() <= 1e-3 * reference).all()


def test_chunking_does_not_change_the_result() -> None:
    model = paper_mlp(4, 8, 2, "tanh", 1.0).double()
    X = inputs(n=7)
    whole = predictor_hessian_norms(model, X, strategy="structured")
    chunked = predictor_hessian_norms(model, X, strategy="structured", chunk_size=3)
    torch.testing.assert_close(whole, chunked, rtol=1e-12, atol=0)


def test_missed_tolerance_warns() -> None:
    model = paper_mlp(4, 16, 3, "tanh", 1.0).double()
    with pytest.warns(ConvergenceWarning, match="stopped at max_iter=2"):
        spectra = predictor_hessian_spectra(model, inputs(), max_iter=2, tol=1e-9)
    assert not bool(spectra.converged.any())


def test_converged_run_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        predictor_hessian_norms(paper_mlp(4, 6, 2, "tanh", 1.0).double(), inputs())


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"strategy": "dense"}, "strategy"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"X": torch.randn(3, 4, 1, dtype=torch.float64)}, "X.shape"),
    ],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    X = kwargs.pop("X", inputs())
    with pytest.raises(InvalidArgumentError) as error:
        predictor_hessian_norms(paper_mlp(4, 6, 2, "tanh", 1.0).double(), X, **kwargs)
    assert error.value.argument == argument


def test_structured_needs_the_paper_network_and_multi_output_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        predictor_hessian_norms(not_our_model(4), inputs(), strategy="structured")
    assert error.value.argument == "strategy"
    with pytest.raises(InvalidArgumentError) as error:
        predictor_hessian_norms(paper_mlp(4, 6, 2, "tanh", 1.0, out_dim=3).double(), inputs())
    assert error.value.argument == "model output shape"


class StandardParametrization(torch.nn.Module):
    """f(x) = sum_j v_j tanh(w_j . x / sqrt(d)) with v_j ~ N(0, 1): no 1/sqrt(m) in the head."""

    def __init__(self, in_dim: int, width: int, seed: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.W = torch.nn.Parameter(torch.randn(width, in_dim, generator=generator, dtype=torch.float64))
        self.v = torch.nn.Parameter(torch.randn(width, generator=generator, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.W.T / x.shape[1] ** 0.5) @ self.v


def width_exponent(build, widths=(64, 256, 1024)) -> float:
    X = inputs(n=6, d=8)
    norms = [predictor_hessian_norms(build(width), X).max().item() for width in widths]
    return float(np.polyfit(np.log(widths), np.log(norms), 1)[0])


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_curvature_vanishes_as_one_over_sqrt_width_for_the_paper_network(activation: str) -> None:
    exponent = width_exponent(lambda m: paper_mlp(8, m, 2, activation, 1.0, seed=1).double())
    # The theory's O(1/sqrt(m)); finite widths keep the fitted slope within 0.1 of -1/2 here.
    assert -0.6 <= exponent <= -0.4


def test_the_same_check_fails_without_the_ntk_scaling() -> None:
    exponent = width_exponent(lambda m: StandardParametrization(8, m, seed=1))
    assert exponent > -0.1


def test_vmap_with_one_probe_per_chunk_is_still_vmap_and_exact() -> None:
    model = not_our_model(4)
    X = inputs(n=3)
    spectra = predictor_hessian_spectra(model, X, tol=1e-10, strategy="vmap", chunk_size=1)
    assert spectra.strategy == "vmap"
    torch.testing.assert_close(spectra.norms, dense_norms(model, X), rtol=1e-9, atol=1e-12)


def test_value_change_rule_watches_both_ends() -> None:
    # Spectrum of a probe Hessian is a nearly +/- symmetric pair; with patience the opt-in rule may
    # stop early, but never before both extreme Ritz values have settled to within tol * norm.
    model = paper_mlp(4, 32, 3, "tanh", 1.0, seed=0).double()
    X = inputs(n=8)
    loose = predictor_hessian_spectra(model, X, tol=1e-3, patience=3)
    reference = dense_norms(model, X)
    stopped = [i for i, rule in enumerate(loose.stop_rule) if rule == "value_change"]
    assert all(loose.last_change[i] <= 1e-3 for i in stopped)
    assert ((loose.norms - reference).abs() <= 2e-2 * reference).all()


@pytest.mark.parametrize("strategy", ["structured", "vmap"])
def test_budget_sized_chunks_match_the_unchunked_run(strategy: str) -> None:
    # Each probe is its own Lanczos problem, so only the batched matmuls' row count changes with the
    # chunk: BLAS blocking moves a few ulps (measured <= 2e-15 relative in float64, same step counts).
    model = paper_mlp(4, 8, 2, "tanh", 1.0, seed=4).double()
    X = inputs(n=7)
    whole = predictor_hessian_spectra(model, X, strategy=strategy, tol=1e-8)
    params = detached_params(model)
    size = structured_dim(8, 2) if strategy == "structured" else sum(p.numel() for p in params.values())
    row_act = 0 if strategy == "structured" else saved_activation_bytes(model_function(model), params, X[:1])
    per_probe = predictor_probe_bytes(strategy, size=size, itemsize=8, row_act_bytes=row_act)
    for probes_per_chunk in (1, 3):
        budget = probes_per_chunk * per_probe + per_probe // 2
        chunked = predictor_hessian_spectra(model, X, strategy=strategy, tol=1e-8, memory_budget_bytes=budget)
        assert torch.equal(chunked.iterations, whole.iterations)
        assert chunked.stop_rule == whole.stop_rule
        for field in ("norms", "lambda_max", "lambda_min"):
            torch.testing.assert_close(getattr(chunked, field), getattr(whole, field), rtol=1e-13, atol=0)


@pytest.mark.parametrize("strategy", ["structured", "loop", "vmap"])
def test_a_probe_that_cannot_fit_the_budget_is_refused_up_front(strategy: str) -> None:
    model = paper_mlp(4, 8, 2, "tanh", 1.0).double()
    with pytest.raises(MemoryBudgetError) as refused:
        predictor_hessian_norms(model, inputs(), strategy=strategy, memory_budget_bytes=1000)
    assert refused.value.budget_bytes == 1000 and refused.value.estimate_bytes > 1000
    assert strategy in refused.value.kernel
