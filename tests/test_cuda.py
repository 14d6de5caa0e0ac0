"""The kernels on a CUDA device agree with the same kernels on the CPU (float64, tiny paper net).

Every case is marked ``gpu``: tests/conftest.py skips them, with the reason, where no CUDA device
exists. Tolerances are relative, 1e-6 for direct quantities (one forward/backward pass apart) and
the Lanczos tolerance for iterative ones (both runs stop at a Ritz residual of ``TOL``).
"""

import copy

import pytest
import torch

from rscbench.measure import (
    hessian_extremes,
    loss_function,
    ntk_gram,
    predictor_hessian_norms,
    rsc_certificate,
)
from rscbench.measure.gd import gradient_descent
from rscbench.measure.params import detached_params
from rscbench.models import paper_mlp

pytestmark = pytest.mark.gpu
TOL = 1e-8


@pytest.fixture(scope="module")
def pair() -> tuple[tuple, tuple]:
    """(model, X, y) on the CPU and the same on CUDA, float64."""
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(24, 6, generator=generator, dtype=torch.float64)
    y = torch.randn(24, generator=generator, dtype=torch.float64)
    model = paper_mlp(6, 32, 2, "tanh", 1.0, seed=3).double()
    on_gpu = copy.deepcopy(model).cuda()
    return (model, X, y), (on_gpu, X.cuda(), y.cuda())


def test_top_loss_hessian_eigenvalues(pair) -> None:
    (cpu_model, X, y), (gpu_model, Xg, yg) = pair
    cpu = hessian_extremes(loss_function(cpu_model, X, y), detached_params(cpu_model), tol=TOL)
    gpu = hessian_extremes(loss_function(gpu_model, Xg, yg), detached_params(gpu_model), tol=TOL)
    assert gpu.lambda_max == pytest.approx(cpu.lambda_max, rel=1e-6)
    assert gpu.lambda_min == pytest.approx(cpu.lambda_min, rel=1e-6)


def test_per_probe_predictor_hessian_norms(pair) -> None:
    (cpu_model, X, _), (gpu_model, Xg, _) = pair
    cpu = predictor_hessian_norms(cpu_model, X[:8], tol=TOL)
    gpu = predictor_hessian_norms(gpu_model, Xg[:8], tol=TOL)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-6, atol=0)


def test_ntk_gram_and_rsc_certificate(pair) -> None:
    (cpu_model, X, y), (gpu_model, Xg, yg) = pair
    torch.testing.assert_close(ntk_gram(gpu_model, Xg).cpu(), ntk_gram(cpu_model, X), rtol=1e-10, atol=1e-12)
    cpu = rsc_certificate(cpu_model, X, y, tol=TOL)
    gpu = rsc_certificate(gpu_model, Xg, yg, tol=TOL)
    assert gpu.g_bar_sqnorm == pytest.approx(cpu.g_bar_sqnorm, rel=1e-10)
    assert gpu.lower == pytest.approx(cpu.lower, rel=1e-6, abs=1e-9)


def test_gradient_descent_steps(pair) -> None:
    (cpu_model, X, y), (gpu_model, Xg, yg) = pair
    cpu = gradient_descent(copy.deepcopy(cpu_model), X, y, steps=10, rsc_every=5, beta_every=5, probes=4)
    gpu = gradient_descent(copy.deepcopy(gpu_model), Xg, yg, steps=10, rsc_every=5, beta_every=5, probes=4)
    losses = [point["loss"] for point in gpu.trajectory]
    assert losses == pytest.approx([point["loss"] for point in cpu.trajectory], rel=1e-8)
