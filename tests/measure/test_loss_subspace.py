"""The structured loss subspace (rscbench.measure.structured) against dense torch.func.hessian in float64.

Checked on tiny networks (several depths, activations, both scalar losses, more samples than
inputs and fewer, widths where S is all of parameter space and where it is a proper subspace):
Psi is an isometry onto a space that holds the range of H, G and R; the closed-form products equal
Psi^T A Psi; the non-zero spectra agree with the dense ones.
"""

import pytest
import torch

from dense import dense_hessian, dense_jacobian
from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import get_loss, loss_function
from rscbench.measure.params import FlatLayout, detached_params
from rscbench.measure.structured import LossSubspace, loss_subspace_dims
from rscbench.models import paper_mlp

CASES = {
    # name: (d, width, depth, activation, n, loss, sigma1)
    "tanh-L3-narrow-n": (3, 7, 3, "tanh", 4, "square", 1.0),
    "softplus-L2-n>d": (3, 6, 2, "softplus", 5, "logistic", 2.0),
    "gelu-L4": (2, 5, 4, "gelu", 3, "square", 1.5),
    "relu-L2": (4, 6, 2, "relu", 3, "square", 1.0),
    "tanh-L1": (4, 5, 1, "tanh", 3, "logistic", 1.0),
    "tanh-L2-full": (3, 3, 2, "tanh", 6, "square", 1.0),  # n >= m: S is everything
}


def build(name: str):
    d, width, depth, activation, n, loss, sigma1 = CASES[name]
    model = paper_mlp(d, width, depth, activation, sigma1, seed=3).double()
    generator = torch.Generator().manual_seed(7)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    X = X * d**0.5 / X.norm(dim=1, keepdim=True)
    if loss == "logistic":
        y = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).double()
    else:
        y = torch.randn(n, generator=generator, dtype=torch.float64)
    return model, X, y, loss


def dense_parts(model, X, y, loss):
    params = detached_params(model)
    H = dense_hessian(loss_function(model, X, y, loss), params)
    J = dense_jacobian(model, X)
    f = model(X).detach()
    G = J.T @ torch.diag(get_loss(loss).second(f, y) / X.shape[0]) @ J
    return {"hessian": H, "gauss_newton": G, "residual": H - G}, J


def psi_matrix(subspace: LossSubspace, layout: FlatLayout) -> torch.Tensor:
    """Psi as a dense (p, coordinates) matrix, column by column."""
    eye = torch.eye(subspace.size, dtype=torch.float64)
    return torch.stack([layout.flatten(subspace.embed(eye[i])) for i in range(subspace.size)], dim=1)


@pytest.mark.parametrize("name", CASES)
def test_products_equal_the_dense_operators_in_the_subspace(name: str) -> None:
    model, X, y, loss = build(name)
    subspace = LossSubspace(model, X, y, get_loss(loss))
    layout = FlatLayout(detached_params(model))
    parts, J = dense_parts(model, X, y, loss)
    psi = psi_matrix(subspace, layout)
    projector = psi.T @ psi  # Pi: the identity on E and head blocks, the Q projection elsewhere
    assert torch.allclose(projector @ projector, projector, atol=1e-12)
    assert round(float(torch.trace(projector))) == subspace.dims.dimension
    assert subspace.size == subspace.dims.coordinates == psi.shape[1]
    span = psi @ psi.T  # the orthogonal projector onto S in parameter space
    for part, dense in parts.items():
        # The range of every operator lies in S, and the products are Psi^T A Psi.
        assert torch.allclose(span @ dense, dense, atol=1e-11 * dense.abs().max().item() + 1e-14)
        products = torch.stack(
            [subspace.product(column, part) for column in torch.eye(subspace.size, dtype=torch.float64)], 1
        )
        reduced = psi.T @ dense @ psi
        torch.testing.assert_close(products, reduced, rtol=1e-10, atol=1e-12)
    g_bar = J.mean(0)
    torch.testing.assert_close(psi @ subspace.mean_output_gradient(), g_bar, rtol=1e-10, atol=1e-13)
    coordinates = subspace.coordinates_of(layout.unflatten(g_bar))
    torch.testing.assert_close(coordinates, psi.T @ g_bar, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", ["tanh-L3-narrow-n", "gelu-L4", "tanh-L2-full"])
def test_non_zero_spectrum_is_that_of_the_dense_hessian(name: str) -> None:
    model, X, y, loss = build(name)
    subspace = LossSubspace(model, X, y, get_loss(loss))
    dense = dense_parts(model, X, y, loss)[0]["hessian"]
    reduced = torch.stack(
        [subspace.product(column) for column in torch.eye(subspace.size, dtype=torch.float64)], 1
    )
    psi = psi_matrix(subspace, FlatLayout(detached_params(model)))
    # Restrict to the range of Pi (an orthonormal basis of the coordinates Pi keeps).
    values, vectors = torch.linalg.eigh(psi.T @ psi)
    keep = vectors[:, values > 0.5]
    inside = torch.linalg.eigvalsh(keep.T @ reduced @ keep)
    full = torch.linalg.eigvalsh(dense)
    scale = full.abs().max().item()
    complement = full.numel() - inside.numel()
    assert complement == subspace.dims.parameters - subspace.dims.dimension
    assert (complement > 0) == subspace.dims.complement
    # dense spectrum = spectrum in S plus `complement` zeros
    merged = torch.sort(torch.cat([inside, torch.zeros(complement, dtype=torch.float64)])).values
    torch.testing.assert_close(merged, full, rtol=0, atol=1e-10 * scale)


def test_dims_formula_counts_the_paper_network() -> None:
    dims = loss_subspace_dims(64, 32, 4096, 3)
    assert dims.parameters == 32 * 4096 + 2 * 4096**2 + 4096
    assert dims.coordinates == 4096 * 32 + 2 * (2 * 4096 * 64) + 4096
    assert dims.dimension == 4096 * 32 + 2 * (4096 * 64 + (4096 - 64) * 64) + 4096
    full = loss_subspace_dims(256, 32, 128, 3)  # n >= m: S is all of parameter space
    assert full.dimension == full.parameters == full.coordinates and not full.complement


def test_only_the_paper_network_with_a_scalar_loss() -> None:
    model = paper_mlp(3, 4, 2, "tanh", 1.0, out_dim=2).double()
    X = torch.randn(3, 3, dtype=torch.float64)
    with pytest.raises(InvalidArgumentError) as error:
        LossSubspace(model, X, torch.zeros(3), get_loss("square"))
    assert error.value.argument == "model"
    with pytest.raises(InvalidArgumentError) as error:
        LossSubspace(paper_mlp(3, 4, 2, "tanh", 1.0).double(), X, torch.zeros(3), get_loss("cross_entropy"))
    assert error.value.argument == "loss"
