"""The exact per-neuron kernels of the depth-1 network against dense Hessians (float64).

Tolerances: the per-neuron values are exact up to rounding, so they must agree with
torch.func.hessian + eigvalsh to 1e-10 relative to the largest Hessian entry.
"""

import numpy as np
import pytest
import torch
from test_rsc import dense_cone_minimum, square_case

from dense import dense_hessian, dense_jacobian, not_our_model
from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import loss_function
from rscbench.measure.memory import Sizes, neuron_certificate_bytes, rsc_bytes
from rscbench.measure.neuron_blocks import (
    neuron_block_parts,
    neuron_blocks_apply,
    neuron_predictor_extremes,
    residual_minimum,
)
from rscbench.measure.params import detached_params, model_function, scalar_output
from rscbench.measure.predictor_hessian import predictor_hessian_spectra
from rscbench.measure.rsc import rsc_certificate
from rscbench.models import paper_mlp

CASES = {
    # name: (activation, sigma1, width, n, d, loss)
    "tanh": ("tanh", 1.0, 6, 5, 3, "square"),
    "softplus-wide-inputs": ("softplus", 2.0, 4, 7, 5, "square"),
    "gelu-logistic": ("gelu", 1.0, 5, 6, 3, "logistic"),
    "relu-control": ("relu", 1.0, 5, 4, 3, "square"),
}


def case(name: str):
    activation, sigma1, width, n, d, loss = CASES[name]
    model = paper_mlp(d, width, 1, activation, sigma1, seed=7).double()
    X, y = square_case(model, n=n, d=d, seed=3, target_scale=0.7)
    if loss == "logistic":
        y = torch.where(y >= 0, 1.0, -1.0).double()
    return model, X, y, loss


def dense_split(model, X, y, loss):
    """H, G and R = H - G of the loss, densely, in the flat order (W1 row-major, then v)."""
    fn, params = loss_function(model, X, y, loss), detached_params(model)
    H = dense_hessian(fn, params)
    J = dense_jacobian(model, X)
    f = model(X).detach()
    second = {"square": torch.full_like(f, 2.0), "logistic": torch.sigmoid(y * f) * torch.sigmoid(-y * f)}
    G = J.T @ torch.diag(second[loss] / X.shape[0]) @ J
    return H, G, H - G, J


def neuron_order(width: int, d: int) -> torch.Tensor:
    """Flat indices regrouped neuron by neuron: (w_j, v_j) for j = 1..m."""
    return torch.tensor(
        [index for j in range(width) for index in (*range(j * d, (j + 1) * d), width * d + j)]
    )


@pytest.mark.parametrize("name", CASES)
def test_the_residual_part_is_block_diagonal_over_neurons_and_its_minimum_is_exact(name: str) -> None:
    model, X, y, loss = case(name)
    _, _, R, _ = dense_split(model, X, y, loss)
    m, d = model.width, model.in_dim
    order = neuron_order(m, d)
    blocks = R[order][:, order]
    mask = torch.block_diag(*[torch.ones(d + 1, d + 1)] * m).bool()
    scale = R.abs().max().item()
    assert blocks[~mask].abs().max().item() <= 1e-13 * scale  # the derivation: nothing off the blocks
    exact = torch.linalg.eigvalsh(R)[0].item()
    found = residual_minimum(model, X, y, loss)
    assert found.value == pytest.approx(exact, abs=1e-10 * scale)
    block = blocks[found.neuron * (d + 1) : (found.neuron + 1) * (d + 1)][:, found.neuron * (d + 1) :][
        :, : d + 1
    ]
    assert found.vector @ block @ found.vector == pytest.approx(exact, abs=1e-10 * scale)


@pytest.mark.parametrize("name", CASES)
def test_certificate_pieces_match_the_dense_hessian(name: str) -> None:
    model, X, y, loss = case(name)
    H, _, _, J = dense_split(model, X, y, loss)
    parts = neuron_block_parts(model, X, y, loss)
    g_bar = J.mean(0)
    axis = g_bar / g_bar.norm()
    scale = H.abs().max().item()
    assert parts.g_bar_sqnorm == pytest.approx((g_bar @ g_bar).item(), rel=1e-12)
    assert parts.a == pytest.approx((axis @ H @ axis).item(), abs=1e-10 * scale)
    b = H @ axis - (axis @ H @ axis) * axis
    assert parts.b_norm == pytest.approx(b.norm().item(), abs=1e-10 * scale)
    # the reduced matrix is Q^T H Q for an orthonormal Q starting with u_g: its (0, 0) entry is a,
    # and its eigenvalues interlace H's
    assert parts.reduced[0, 0] == pytest.approx(parts.a, abs=1e-12 * scale)
    values = np.linalg.eigvalsh(parts.reduced)
    spectrum = torch.linalg.eigvalsh(H).numpy()
    assert values[0] >= spectrum[0] - 1e-10 * scale and values[-1] <= spectrum[-1] + 1e-10 * scale


@pytest.mark.parametrize("kappa", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("name", CASES)
def test_certificate_bounds_bracket_the_dense_cone_minimum(name: str, kappa: float) -> None:
    model, X, y, loss = case(name)
    H, _, R, J = dense_split(model, X, y, loss)
    certificate = rsc_certificate(model, X, y, loss=loss, kappa=kappa)
    assert certificate.space == "neuron_blocks" and certificate.converged
    g_bar = J.mean(0)
    exact = dense_cone_minimum(H.numpy(), (g_bar / g_bar.norm()).numpy(), kappa)
    slack = 1e-9 * H.abs().max().item()
    assert certificate.lower <= exact + slack <= certificate.upper + 2 * slack
    assert certificate.lambda_min_R == pytest.approx(torch.linalg.eigvalsh(R)[0].item(), abs=slack)
    assert certificate.lower_gn == pytest.approx(
        certificate.min_loss_curvature * kappa**2 * certificate.g_bar_sqnorm + certificate.lambda_min_R
    )
    # the generic Lanczos path agrees on every exact piece
    full = rsc_certificate(model, X, y, loss=loss, kappa=kappa, tol=1e-10, space="full")
    assert full.g_bar_sqnorm == pytest.approx(certificate.g_bar_sqnorm, rel=1e-10)
    assert full.lambda_min_R == pytest.approx(certificate.lambda_min_R, abs=1e-7 * H.abs().max().item())


@pytest.mark.parametrize("name", CASES)
def test_predictor_hessian_extremes_match_dense_eigenvalues(name: str) -> None:
    model, X, _, _ = case(name)
    f, params = model_function(model), detached_params(model)
    top, bottom = neuron_predictor_extremes(model, X)
    for i, x in enumerate(X):
        values = torch.linalg.eigvalsh(dense_hessian(lambda p, x=x: scalar_output(f, p, x[None])[0], params))
        scale = max(values.abs().max().item(), 1e-300)
        assert top[i].item() == pytest.approx(values[-1].item(), abs=1e-12 * scale)
        assert bottom[i].item() == pytest.approx(values[0].item(), abs=1e-12 * scale)
    spectra = predictor_hessian_spectra(model, X)
    assert spectra.strategy == "neuron_blocks" and spectra.stop_rule == ("exact",) * X.shape[0]
    assert torch.equal(spectra.norms, torch.maximum(top.abs(), bottom.abs()))


def test_auto_takes_the_per_neuron_path_only_where_the_structure_holds() -> None:
    assert neuron_blocks_apply(paper_mlp(3, 4, 1, "tanh", 1.0))
    assert not neuron_blocks_apply(paper_mlp(3, 4, 2, "tanh", 1.0))
    assert not neuron_blocks_apply(paper_mlp(3, 4, 1, "tanh", 1.0, out_dim=3))
    assert not neuron_blocks_apply(not_our_model(3))
    deep = paper_mlp(3, 4, 2, "tanh", 1.0, seed=1).double()
    X, y = square_case(deep, n=4)
    assert rsc_certificate(deep, X, y, tol=1e-8).space != "neuron_blocks"
    assert predictor_hessian_spectra(deep, X, tol=1e-8).strategy == "structured"
    with pytest.raises(InvalidArgumentError, match="model"):
        rsc_certificate(deep, X, y, space="neuron_blocks")
    with pytest.raises(InvalidArgumentError, match="space"):
        rsc_certificate(deep, X, y, space="blocks")


def test_a_float32_model_is_measured_in_float64() -> None:
    model = paper_mlp(4, 16, 1, "tanh", 1.0, seed=2)
    X, y = square_case(model, n=6, d=4)
    exact = rsc_certificate(model.double(), X, y)
    single = rsc_certificate(model.float(), X.float(), y.float())
    assert single.lambda_min_R == pytest.approx(exact.lambda_min_R, rel=1e-5)
    assert single.g_bar_sqnorm == pytest.approx(exact.g_bar_sqnorm, rel=1e-5)


def test_memory_model_is_linear_in_width_and_replaces_the_lanczos_estimate_at_depth_one() -> None:
    small, large = (neuron_certificate_bytes(Sizes.paper(64, 16, m, 1)).bytes for m in (2**18, 2**20))
    p_small, p_large = 2**18 * 17, 2**20 * 17
    assert (large - small) == pytest.approx(8 * 8 * (p_large - p_small), rel=1e-12)
    assert rsc_bytes(Sizes.paper(64, 16, 2**20, 1)).bytes == large
    deeper = Sizes.paper(64, 16, 2**10, 2)
    assert rsc_bytes(deeper).bytes != neuron_certificate_bytes(deeper).bytes
