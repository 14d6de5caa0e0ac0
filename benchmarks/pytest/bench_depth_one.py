"""The depth-1 init certificate and predictor norms: the exact per-neuron path beside the generic ones.

At depth 1 the residual part R of the loss Hessian is block-diagonal over neurons, so
``rsc_certificate`` and ``predictor_hessian_spectra`` take an exact per-neuron path by default
(docs/kernels.md, "Depth 1"). Each table times, on one width of the depth-1 tanh network (n = 64,
d = 16, float32), that path beside the Lanczos paths it replaces: the certificate in parameter space
("full") and in the structured loss-Hessian subspace ("structured"), the predictor norms by the
structured per-probe Lanczos. Every row asserts its lambda_min(R) (or probe norms) against the
exact value: the Lanczos rows to their own tolerance (1e-3 relative, conservative side). Widths
1024 and 4096 by default; ``RSCBENCH_BENCH_DEPTH1_WIDTHS`` gives others (e.g. 65536 for the
exact path alone; the Lanczos rows skip above 16384, where one run takes minutes). Speed is
measured, never asserted.
"""

from __future__ import annotations

import math
import os

import pytest
import torch

from rscbench.measure.predictor_hessian import predictor_hessian_spectra
from rscbench.measure.rsc import rsc_certificate
from rscbench.models import paper_mlp

N, D, TOL = 64, 16, 1e-3
LANCZOS_MAX_WIDTH = 16384
WIDTHS = tuple(int(w) for w in os.environ.get("RSCBENCH_BENCH_DEPTH1_WIDTHS", "1024,4096").split(","))


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda width: f"m{width}")
def depth_one(request):
    """(model, X, y, the exact certificate) at one width."""
    generator = torch.Generator().manual_seed(11)
    X = torch.randn(N, D, generator=generator, dtype=torch.float64)
    X = (X * math.sqrt(D) / X.norm(dim=1, keepdim=True)).float()
    y = (0.5 * torch.randn(N, generator=generator, dtype=torch.float64)).float()
    model = paper_mlp(D, request.param, 1, "tanh", 1.0, seed=3)
    return model, X, y, rsc_certificate(model, X, y, space="neuron_blocks")


@pytest.mark.parametrize("space", ["neuron_blocks", "structured", "full"])
def test_certificate(benchmark, depth_one, space: str) -> None:
    model, X, y, exact = depth_one
    if space != "neuron_blocks" and model.width > LANCZOS_MAX_WIDTH:
        pytest.skip(f"Lanczos rows run up to width {LANCZOS_MAX_WIDTH}")
    benchmark.group = f"depth-1 certificate m={model.width}"
    result = benchmark.pedantic(
        lambda: rsc_certificate(model, X, y, space=space, tol=TOL), rounds=3, warmup_rounds=1, iterations=1
    )
    benchmark.extra_info.update(width=model.width, space=space, n_products=result.n_hvp)
    scale = abs(exact.lambda_min_R)
    assert result.lambda_min_R <= exact.lambda_min_R + 1e-6 * scale  # conservative side
    assert result.lambda_min_R == pytest.approx(exact.lambda_min_R, rel=5 * TOL)
    assert result.g_bar_sqnorm == pytest.approx(exact.g_bar_sqnorm, rel=1e-4)


@pytest.mark.parametrize("strategy", ["neuron_blocks", "structured"])
def test_predictor_norms(benchmark, depth_one, strategy: str) -> None:
    model, X, _, _ = depth_one
    if strategy != "neuron_blocks" and model.width > LANCZOS_MAX_WIDTH:
        pytest.skip(f"Lanczos rows run up to width {LANCZOS_MAX_WIDTH}")
    benchmark.group = f"depth-1 predictor norms (16 probes) m={model.width}"
    probes = X[:16]
    exact = predictor_hessian_spectra(model, probes, strategy="neuron_blocks").norms
    result = benchmark.pedantic(
        lambda: predictor_hessian_spectra(model, probes, strategy=strategy, tol=TOL),
        rounds=3,
        warmup_rounds=1,
        iterations=1,
    )
    benchmark.extra_info.update(width=model.width, strategy=strategy)
    assert torch.allclose(result.norms.double(), exact.double(), rtol=5 * TOL)
