"""The snapshot's loss-Hessian trace (Q11) and spectral density (Q12) against the dense Hessian."""

import math

import pytest
import torch

from dense import dense_hessian
from rscbench.data import sphere
from rscbench.measure import SpectralDensity, measure_snapshot
from rscbench.measure.losses import loss_function
from rscbench.measure.params import detached_params
from rscbench.measure.snapshot import DENSITY_BINS, DENSITY_PREFIX
from rscbench.models import paper_mlp


@pytest.fixture(scope="module")
def case():
    X, y = sphere(10, 4, seed=5, dtype=torch.float64)
    model = paper_mlp(4, 6, 2, "tanh", 1.0, seed=6).double()
    eigenvalues = torch.linalg.eigvalsh(
        dense_hessian(loss_function(model, X, y, "square"), detached_params(model))
    )
    parts: list[str] = []
    record = measure_snapshot(
        model,
        X,
        y,
        quantities=["Q11", "Q12"],
        trace_products=60,
        density_vectors=40,
        density_steps=90,
        seed=3,
        on_part=parts.append,
    )
    return eigenvalues, record, parts


def test_the_trace_interval_holds_the_dense_trace_and_counts_its_products(case) -> None:
    eigenvalues, record, _ = case
    truth = float(eigenvalues.sum())
    assert record["loss_hessian_trace_ci_low"] <= truth <= record["loss_hessian_trace_ci_high"]
    scale = float(eigenvalues.abs().sum())  # the trace of an indefinite H sits near 0: judge by |H|
    assert abs(record["loss_hessian_trace"] - truth) < 0.02 * scale
    assert record["loss_hessian_trace_n_products"] == 60
    half = record["loss_hessian_trace_ci_high"] - record["loss_hessian_trace"]
    assert half > 0 and record["loss_hessian_trace_std_error"] > 0


def test_the_density_moments_and_range_match_the_dense_spectrum(case) -> None:
    eigenvalues, record, _ = case
    p = eigenvalues.numel()
    for key, exact in (("mean", eigenvalues.mean()), ("second_moment", (eigenvalues**2).mean())):
        estimate, error = record[f"loss_hessian_density_{key}"], record[f"loss_hessian_density_{key}_se"]
        assert abs(estimate - float(exact)) <= 4 * error, key
    # 90 steps on p = 66 dimensions: each start's Krylov space is the whole space, so its extreme
    # nodes are the extreme eigenvalues.
    assert p == 66
    assert record["loss_hessian_density_low"] == pytest.approx(float(eigenvalues[0]), abs=1e-8)
    assert record["loss_hessian_density_high"] == pytest.approx(float(eigenvalues[-1]), abs=1e-8)
    masses = [record[f"{DENSITY_PREFIX}{i:02d}"] for i in range(DENSITY_BINS)]
    assert sum(masses) == pytest.approx(1.0, abs=1e-12) and min(masses) >= 0
    edges = torch.linspace(
        float(eigenvalues[0]), float(eigenvalues[-1]), DENSITY_BINS + 1, dtype=torch.float64
    )
    counts = torch.histogram(eigenvalues, edges).hist / p
    assert 0.5 * float((torch.tensor(masses) - counts).abs().sum()) < 0.15  # total variation
    assert record["loss_hessian_density_n_products"] <= 40 * 90


def test_the_run_layer_hears_each_part(case) -> None:
    _, _, parts = case
    assert parts[0] == "Q11" and "Q12" in parts


def test_histogram_sums_the_pooled_weights_per_bin() -> None:
    nodes = torch.tensor([[0.0, 1.0, 4.0], [2.0, 4.0, math.nan]], dtype=torch.float64)
    weights = torch.tensor([[0.5, 0.25, 0.25], [0.5, 0.5, 0.0]], dtype=torch.float64)
    density = SpectralDensity(nodes, weights, (3, 2), 5, 10)
    edges, masses = density.histogram(4)
    assert edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    # bins [0,1), [1,2), [2,3), [3,4]: 0 -> 0.25; 1 -> 0.125; 2 -> 0.25; 4 (twice) -> 0.125 + 0.25
    assert masses.tolist() == pytest.approx([0.25, 0.125, 0.25, 0.375])
    point = SpectralDensity(torch.tensor([[2.0]]), torch.tensor([[1.0]]), (1,), 1, 1).histogram(3)
    assert point[1].tolist() == [0.0, 1.0, 0.0] and point[0][0] < 2.0 < point[0][-1]
