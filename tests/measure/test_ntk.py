"""Tests of rscbench.measure.ntk: every Gram path against a dense jacrev reference, spectrum, drift, PL."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev

from rscbench.errors import InvalidArgumentError
from rscbench.measure import memory, ntk
from rscbench.measure.ntk import (
    NtkSpectrum,
    ntk_drift,
    ntk_gram,
    ntk_gram_of,
    ntk_spectrum,
    per_sample_grad_norms,
    per_sample_grad_norms_of,
    pl_constant,
)
from rscbench.measure.params import model_function
from rscbench.models import paper_mlp

# float64 throughout the exactness checks: the paths differ only in summation order over p <= ~200
# terms, so they agree to a few 1e-16 relative (measured: <= 3e-16); 1e-12 leaves a wide margin while
# still catching any missing 1/c_l or 1/sqrt(m) factor (which is an O(1) error).
EXACT_RTOL = 1e-12

# torch's own forward-mode AD (the "products" path's jvp) scripts its decompositions on first use and
# torch.jit.script warns it is deprecated: a torch-internal warning, not ours.


def dense_reference(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """J J^T with J from torch.func.jacrev of functional_call: independent of the code under test."""
    params = {name: p.detach() for name, p in model.named_parameters()}
    jac = jacrev(lambda q: functional_call(model, q, (X,)).reshape(-1))(params)
    J = torch.cat([j.reshape(X.shape[0], -1) for j in jac.values()], dim=1)
    return J @ J.T


def rel_err(A: torch.Tensor, B: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(A - B) / torch.linalg.matrix_norm(B))


def inputs(n: int, d: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g).to(dtype)


# (id, in_dim, width, depth, activation, sigma1, scale_input)
PAPER_CASES = [
    ("tanh-L1-scaled", 3, 6, 1, "tanh", 1.0, True),
    ("relu-L1-unscaled", 4, 5, 1, "relu", 1.5, False),
    ("relu-L2-scaled", 3, 6, 2, "relu", 1.0, True),
    ("softplus-L2-unscaled", 2, 5, 2, "softplus", 2.0, False),
    ("gelu-L3-scaled", 3, 4, 3, "gelu", 1.0, True),
    ("sigmoid-L3-unscaled", 3, 5, 3, "sigmoid", 3.0, False),
    ("silu-L2-scaled", 5, 4, 2, "silu", 1.0, True),
]


def make_paper(case: tuple) -> nn.Module:
    _, d, m, depth, act, sigma1, scale = case
    return paper_mlp(d, m, depth, act, sigma1, seed=7, scale_input=scale).double()


def make_foreign(d: int = 3) -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(d, 7), nn.Tanh(), nn.Linear(7, 5), nn.GELU(), nn.Linear(5, 1)).double()


@pytest.mark.parametrize("case", PAPER_CASES, ids=[c[0] for c in PAPER_CASES])
def test_structured_gram_matches_jacrev(case):
    model = make_paper(case)
    X = inputs(9, case[1])
    K = ntk_gram(model, X)  # "auto" -> structured for a PaperMLP
    assert K.shape == (9, 9) and K.dtype == torch.float64
    assert torch.equal(K, K.T)
    assert rel_err(K, dense_reference(model, X)) < EXACT_RTOL
    assert rel_err(ntk_gram(model, X, method="structured"), dense_reference(model, X)) < EXACT_RTOL


@pytest.mark.parametrize("case", PAPER_CASES, ids=[c[0] for c in PAPER_CASES])
def test_per_sample_grad_norms_structured(case):
    model = make_paper(case)
    X = inputs(9, case[1], seed=1)
    expected = dense_reference(model, X).diag().sqrt()
    got = per_sample_grad_norms(model, X)
    assert got.shape == (9,)
    # Norms are sqrt of O(1) sums in float64: agreement to rounding, 1e-12 relative is ample.
    torch.testing.assert_close(got, expected, rtol=EXACT_RTOL, atol=0)


# n = 11 rows; chunk sizes: None (budget: one block), 1 (smallest), 4 and 7 (do not divide 11: resident
# and streamed blocks of unequal sizes), 11 (exactly n), 50 (more than n).
GENERIC_CASES = [
    (model, method, chunk)
    for model in ("paper", "foreign")
    for method in ("jacobian", "products")
    for chunk in (None, 1, 4, 7, 11, 50)
]


def build(kind: str) -> nn.Module:
    return make_paper(PAPER_CASES[4]) if kind == "paper" else make_foreign()


@pytest.mark.parametrize(
    ("kind", "method", "chunk"), GENERIC_CASES, ids=[f"{k}-{m}-chunk{c}" for k, m, c in GENERIC_CASES]
)
def test_generic_paths_match_jacrev(kind, method, chunk):
    model = build(kind)
    X = inputs(11, 3, seed=2)
    K = ntk_gram(model, X, method=method, chunk_size=chunk)
    assert torch.equal(K, K.T)
    assert rel_err(K, dense_reference(model, X)) < EXACT_RTOL


def test_foreign_model_auto_and_function_form():
    model = make_foreign()
    X = inputs(6, 3, seed=4)
    ref = dense_reference(model, X)
    assert rel_err(ntk_gram(model, X), ref) < EXACT_RTOL
    params = {name: p.detach() for name, p in model.named_parameters()}

    def f(q, x):
        return functional_call(model, q, (x,))  # output (n, 1): accepted as one scalar per row

    for method in ("jacobian", "products", "auto"):
        assert rel_err(ntk_gram_of(f, params, X, method=method), ref) < EXACT_RTOL
    torch.testing.assert_close(per_sample_grad_norms(model, X), ref.diag().sqrt(), rtol=EXACT_RTOL, atol=0)
    torch.testing.assert_close(
        per_sample_grad_norms_of(f, params, X, chunk_size=4), ref.diag().sqrt(), rtol=EXACT_RTOL, atol=0
    )


def embedding_model(params, X):
    """Reads one row of a 5000 x 4 table per input: p far exceeds the per-row compute."""
    return torch.tanh(params["table"][X[:, 0].long()] @ params["u"] + X[:, 1])


def test_auto_rule_picks_jacobian_for_dense_and_products_for_sparse_use():
    dense = make_foreign()
    X = inputs(6, 3)
    params = {name: p.detach() for name, p in dense.named_parameters()}
    plan = ntk.plan_generic_gram(lambda q, x: functional_call(dense, q, (x,)), params, X, chunk_size=100)
    assert plan == ("jacobian", 100)
    g = torch.Generator().manual_seed(0)
    table = {"table": torch.randn(5000, 4, generator=g).double(), "u": torch.randn(4, generator=g).double()}
    Xe = torch.stack([torch.tensor([3.0, 7, 3, 11, 4000, 9]), torch.randn(6, generator=g)], 1).double()
    assert ntk.plan_generic_gram(embedding_model, table, Xe, chunk_size=100) == ("products", 100)
    K_auto = ntk_gram_of(embedding_model, table, Xe, method="auto")
    K_jac = ntk_gram_of(embedding_model, table, Xe, method="jacobian")
    assert rel_err(K_auto, K_jac) < EXACT_RTOL


def wide_elementwise_model(params, X):
    """An embedding row spread over 1000 copies by elementwise work only: no counted flops (products
    win on flops) but 32 KB saved per row, so products' n-row tangents outweigh two Jacobian rows."""
    row = params["table"][X[:, 0].long()]
    return torch.tanh(row.repeat(1, 1000) + X[:, 1:2]).sum(1) / 1000


def test_budget_sends_auto_to_the_method_that_fits_or_refuses():
    g = torch.Generator().manual_seed(0)
    table = {"table": torch.randn(5000, 4, generator=g).double()}
    X = torch.stack([torch.randint(0, 5000, (32,), generator=g).double(), torch.randn(32, generator=g)], 1)
    p_bytes, n = 20000 * 8, 32
    row_act = memory.saved_activation_bytes(wide_elementwise_model, table, X[:1])
    need = {
        name: fn(n, 1, p_bytes, row_act, 8)
        for name, fn in (("jacobian", memory.jacobian_gram_bytes), ("products", memory.products_gram_bytes))
    }
    assert need["jacobian"] < need["products"]  # the flop winner (products) is the heavier one
    assert ntk.plan_generic_gram(wide_elementwise_model, table, X)[0] == "products"
    budget = (need["jacobian"] + need["products"]) // 2
    method, chunk = ntk.plan_generic_gram(wide_elementwise_model, table, X, memory_budget_bytes=budget)
    assert method == "jacobian" and memory.jacobian_gram_bytes(n, chunk, p_bytes, row_act, 8) <= budget
    K = ntk_gram_of(wide_elementwise_model, table, X, method="auto", memory_budget_bytes=budget)
    assert rel_err(K, ntk_gram_of(wide_elementwise_model, table, X, method="products")) < EXACT_RTOL
    with pytest.raises(memory.MemoryBudgetError) as refused:
        ntk_gram_of(wide_elementwise_model, table, X, method="products", memory_budget_bytes=budget)
    assert refused.value.budget_bytes == budget and refused.value.estimate_bytes > budget
    with pytest.raises(memory.MemoryBudgetError) as refused:
        ntk_gram_of(wide_elementwise_model, table, X, memory_budget_bytes=need["jacobian"] - 1)
    assert "jacobian" in refused.value.kernel


def test_budget_picks_the_largest_chunk_that_fits():
    model = make_foreign()
    X = inputs(40, 3, seed=1)
    f = model_function(model)
    params = {name: p.detach() for name, p in model.named_parameters()}
    row_act = memory.saved_activation_bytes(f, params, X[:1])
    p_bytes = sum(v.numel() for v in params.values()) * 8
    budget = memory.jacobian_gram_bytes(40, 9, p_bytes, row_act, 8)
    assert ntk.plan_generic_gram(f, params, X, method="jacobian", memory_budget_bytes=budget) == (
        "jacobian",
        9,
    )
    K = ntk_gram_of(f, params, X, method="jacobian", memory_budget_bytes=budget)
    assert rel_err(K, dense_reference(model, X)) < EXACT_RTOL


def test_structured_gram_falls_back_when_its_n_squared_terms_do_not_fit():
    model = make_paper(PAPER_CASES[0])  # d = 3, m = 6, L = 1: p = 24, tiny next to n^2
    X = inputs(64, 3, seed=3)
    structured = memory.structured_gram_bytes(64, (3 + 6 + 1) * 8, 8)
    budget = structured - 1
    with pytest.raises(memory.MemoryBudgetError):
        ntk_gram(model, X, method="structured", memory_budget_bytes=budget)
    K = ntk_gram(model, X, memory_budget_bytes=budget)  # auto: the generic path that fits
    assert rel_err(K, dense_reference(model, X)) < EXACT_RTOL
    assert torch.equal(ntk_gram(model, X, memory_budget_bytes=structured), ntk_gram(model, X))


def test_gram_works_under_no_grad_and_keeps_model_dtype():
    model = paper_mlp(3, 8, 2, "tanh", 1.0, seed=0)  # float32
    X = inputs(5, 3, dtype=torch.float32)
    with torch.no_grad():
        K = ntk_gram(model, X)
        K_jac = ntk_gram(model, X, method="jacobian")
    assert K.dtype == torch.float32 and K_jac.dtype == torch.float32
    # float32 paths with different summation orders: agree to a few eps32 (1.2e-7) relative.
    assert rel_err(K, K_jac) < 1e-5


# ---------------------------------------------------------------------------------------- spectrum


def random_spd(n: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n + 3, generator=g, dtype=torch.float64)
    return (A @ A.T).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_spectrum_matches_numpy(dtype):
    K = random_spd(12, seed=5, dtype=dtype)
    spec = ntk_spectrum(K)
    eig = np.linalg.eigvalsh(K.double().numpy())
    # Both are float64 eigensolvers on the same float64 matrix: 1e-12 relative to lambda_max.
    assert spec.lambda_min == pytest.approx(eig[0], abs=1e-12 * eig[-1])
    assert spec.lambda_max == pytest.approx(eig[-1], rel=1e-12)
    assert spec.source_dtype == str(dtype).removeprefix("torch.")
    assert spec.noise_floor == pytest.approx(12 * torch.finfo(dtype).eps * eig[-1])
    assert spec.lambda_min_resolved and spec.resolved_lambda_min == spec.lambda_min
    assert isinstance(spec, NtkSpectrum)


# Rank-deficient Gram matrices: their exact lambda_min is 0, so the computed one is float noise.
# (id, in_dim, width, depth, n, duplicate rows, dtype)
DEFICIENT_CASES = [
    ("n>p-float64", 2, 2, 1, 10, False, torch.float64),  # p = 2*2 + 2 = 6 < n = 10
    ("n>p-float32", 2, 2, 1, 10, False, torch.float32),
    ("duplicated-float64", 3, 8, 2, 6, True, torch.float64),
    ("duplicated-float32", 3, 8, 2, 6, True, torch.float32),
]


@pytest.mark.parametrize("case", DEFICIENT_CASES, ids=[c[0] for c in DEFICIENT_CASES])
def test_noise_floor_flags_rank_deficient_gram(case):
    _, d, m, depth, n, duplicate, dtype = case
    model = paper_mlp(d, m, depth, "softplus", 1.0, seed=1).to(dtype)
    X = inputs(n, d, seed=3, dtype=dtype)
    if duplicate:
        X = torch.cat([X, X[:2]])
    spec = ntk_spectrum(ntk_gram(model, X))
    assert not spec.lambda_min_resolved
    assert spec.resolved_lambda_min is None
    assert spec.lambda_min_text.startswith("below floor")
    assert spec.condition_number == math.inf
    # A float32 K cast up keeps its float32 floor only if the caller says where it came from.
    cast = ntk_spectrum(ntk_gram(model, X).double(), source_dtype=dtype)
    assert cast.noise_floor == pytest.approx(spec.noise_floor, rel=1e-6)


def test_float32_well_conditioned_gram_is_resolved():
    # Wide single layer, few orthogonal inputs: K is near-diagonal, cond ~ O(1) >> the floor n*eps32.
    model = paper_mlp(4, 256, 1, "tanh", 1.0, seed=0)
    X = 2.0 * torch.eye(4)  # ||x|| = sqrt(d)
    spec = ntk_spectrum(ntk_gram(model, X))
    assert spec.source_dtype == "float32"
    assert spec.lambda_min_resolved
    assert spec.lambda_min > 1e3 * spec.noise_floor
    assert not spec.lambda_min_text.startswith("below")


# ------------------------------------------------------------------------------------ drift and PL


def test_drift_closed_form():
    K0 = random_spd(6, seed=1)
    assert ntk_drift(K0, K0.clone()) == 0.0
    assert ntk_drift(K0, 3.0 * K0) == pytest.approx(2.0, rel=1e-14)  # ||3K - K|| / ||K|| = 2
    K1 = torch.diag(torch.tensor([1.0, 2.0]))
    K2 = torch.diag(torch.tensor([1.0, 2.0])) + torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert ntk_drift(K1, K2) == pytest.approx(math.sqrt(2.0) / math.sqrt(5.0), rel=1e-14)
    assert ntk_drift(K1.float(), K2) == pytest.approx(math.sqrt(2.0 / 5.0), rel=1e-14)


def square_loss_and_grad_sq(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    loss = ((model(X) - y) ** 2).mean()  # L = (1/n) sum (f - y)^2, no 1/2
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return float(loss.detach()), float(sum(g.square().sum() for g in grads))


def test_pl_inequality_holds_with_random_targets():
    model = paper_mlp(3, 10, 2, "tanh", 1.0, seed=4).double()
    X = inputs(6, 3, seed=6)
    mu = pl_constant(ntk_gram(model, X))
    assert mu > 0
    g = torch.Generator().manual_seed(8)
    for _ in range(5):
        y = torch.randn(6, generator=g, dtype=torch.float64)
        loss, grad_sq = square_loss_and_grad_sq(model, X, y)
        assert grad_sq >= mu * loss * (1 - 1e-12)  # rounding margin only


def test_pl_inequality_is_tight_on_bottom_eigenvector():
    model = paper_mlp(3, 10, 2, "tanh", 1.0, seed=4).double()
    X = inputs(6, 3, seed=6)
    K = ntk_gram(model, X)
    _, vectors = torch.linalg.eigh(K)
    residual = 0.3 * vectors[:, 0]
    with torch.no_grad():
        y = model(X) - residual  # f - y = bottom eigenvector
    loss, grad_sq = square_loss_and_grad_sq(model, X, y)
    # Equality up to float64 rounding in K, eigh and autograd (~1e-15); 1e-9 relative as margin since
    # lambda_min is ~1e-3 of lambda_max here and its absolute error is relative to lambda_max.
    assert grad_sq == pytest.approx(pl_constant(K) * loss, rel=1e-9)
    assert pl_constant(K) == pytest.approx(4 / 6 * float(np.linalg.eigvalsh(K.numpy())[0]), rel=1e-12)


# ------------------------------------------------------------------------------------ bad input


def _paper():
    return paper_mlp(3, 4, 1, "tanh", 1.0).double()


X_OK = torch.zeros(4, 3, dtype=torch.float64)
SQUARE = torch.eye(3, dtype=torch.float64)

# (id, call, expected .argument)
BAD_CASES = [
    ("X-1d", lambda: ntk_gram(_paper(), torch.zeros(3, dtype=torch.float64)), "X.shape"),
    ("X-3d", lambda: ntk_gram(_paper(), torch.zeros(2, 3, 1, dtype=torch.float64)), "X.shape"),
    ("X-empty", lambda: ntk_gram(_paper(), torch.zeros(0, 3, dtype=torch.float64)), "X.shape"),
    ("X-not-tensor", lambda: ntk_gram(_paper(), [[0.0, 0.0, 0.0]]), "X"),
    ("X-wrong-width-paper", lambda: ntk_gram(_paper(), torch.zeros(4, 5, dtype=torch.float64)), "X.shape"),
    (
        "X-wrong-width-foreign",
        lambda: ntk_gram(make_foreign(), torch.zeros(4, 2, dtype=torch.float64)),
        "X.shape",
    ),
    ("X-wrong-dtype", lambda: ntk_gram(_paper(), torch.zeros(4, 3)), "X.dtype"),
    (
        "norms-X-wrong-width",
        lambda: per_sample_grad_norms(_paper(), torch.zeros(4, 2, dtype=torch.float64)),
        "X.shape",
    ),
    (
        "multi-output-paper",
        lambda: ntk_gram(paper_mlp(3, 4, 1, "tanh", 1.0, out_dim=2).double(), X_OK),
        "model.out_dim",
    ),
    (
        "multi-output-foreign",
        lambda: ntk_gram(nn.Sequential(nn.Linear(3, 2)).double(), X_OK),
        "model output shape",
    ),
    (
        "multi-output-function",
        lambda: ntk_gram_of(lambda q, x: x @ q["w"], {"w": torch.zeros(3, 2, dtype=torch.float64)}, X_OK),
        "model output shape",
    ),
    ("not-a-module", lambda: ntk_gram(lambda x: x, X_OK), "model"),
    ("unknown-method", lambda: ntk_gram(_paper(), X_OK, method="exact"), "method"),
    ("structured-on-foreign", lambda: ntk_gram(make_foreign(), X_OK, method="structured"), "method"),
    (
        "function-structured",
        lambda: ntk_gram_of(lambda q, x: x @ q["w"], {"w": torch.zeros(3)}, X_OK, method="structured"),
        "method",
    ),
    ("chunk-zero", lambda: ntk_gram(_paper(), X_OK, method="jacobian", chunk_size=0), "chunk_size"),
    ("chunk-negative", lambda: ntk_gram(_paper(), X_OK, chunk_size=-2), "chunk_size"),
    ("chunk-float", lambda: ntk_gram(_paper(), X_OK, chunk_size=2.0), "chunk_size"),
    ("norms-chunk-zero", lambda: per_sample_grad_norms(make_foreign(), X_OK, chunk_size=0), "chunk_size"),
    ("spectrum-not-square", lambda: ntk_spectrum(torch.zeros(3, 4)), "K.shape"),
    ("spectrum-1d", lambda: ntk_spectrum(torch.zeros(3)), "K.shape"),
    ("spectrum-nonsymmetric", lambda: ntk_spectrum(torch.triu(torch.ones(3, 3))), "K"),
    ("spectrum-nonfinite", lambda: ntk_spectrum(torch.full((2, 2), math.nan)), "K"),
    ("spectrum-int-source", lambda: ntk_spectrum(SQUARE, source_dtype=torch.int32), "source_dtype"),
    ("pl-not-square", lambda: pl_constant(torch.zeros(2, 3)), "K.shape"),
    ("drift-shape-mismatch", lambda: ntk_drift(SQUARE, torch.eye(2, dtype=torch.float64)), "K1.shape"),
    ("drift-zero-base", lambda: ntk_drift(torch.zeros(3, 3), SQUARE), "K0"),
    ("drift-not-square", lambda: ntk_drift(torch.zeros(2, 3), torch.zeros(2, 3)), "K0.shape"),
]


@pytest.mark.parametrize(("call", "argument"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_input_raises_invalid_argument(call, argument):
    with pytest.raises(InvalidArgumentError) as info:
        call()
    assert info.value.argument == argument
