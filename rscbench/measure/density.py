"""Spectral density of a symmetric operator by stochastic Lanczos quadrature (SLQ).

The spectral measure of A (p x p) puts mass 1/p on each eigenvalue. For a unit start vector v,
``steps`` Lanczos steps give a tridiagonal T whose eigenvalues theta_j and squared first
eigenvector components tau_j are the Gauss quadrature of the measure sum_i (v . u_i)^2
delta(lambda_i): sum_j tau_j theta_j^r = v^T A^r v exactly for r <= 2 steps - 1 (Golub and Meurant).
With v uniform over normalized Rademacher vectors, E[v^T A^r v] = tr(A^r) / p, so averaging the
quadratures of N independent starts estimates the spectral measure (Lin, Saad and Yang 2016;
Ubaru, Chen and Saad 2017; applied to network Hessians by Ghorbani, Krishnan and Xiao 2019).

Each start runs rscbench.measure.lanczos.lanczos with ``max_iter = steps``, a basis of ``steps``
vectors (no restart, so the projected matrix stays the tridiagonal T of the start vector) and a
residual tolerance of 2^-52, so a run ends early only when its Krylov space is invariant or both
extreme Ritz values are exact to machine precision (its quadrature is then exact to the degree of
the steps it took); the steps taken are returned. Starts run one after another, so memory is one Lanczos run's
(rscbench.measure.lanczos.lanczos_vectors(dim, max_basis=steps, max_iter=steps) vectors of length
dim) besides the
operator's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.curvature_operators import LinearOperator
from rscbench.measure.lanczos import lanczos
from rscbench.measure.trace import check_distribution, operator_probes

__all__ = ["SpectralDensity", "spectral_density"]

_QUADRATURE_TOL = 2.0**-52


@dataclass(frozen=True)
class SpectralDensity:
    """N Gauss quadratures of the spectral measure of an operator, one per random start.

    ``nodes`` and ``weights`` are (N, steps) float64: row i holds start i's Ritz values and their
    weights (summing to 1); a row whose run stopped after s < steps steps has weight 0 (and node
    NaN) beyond s. ``steps_taken`` per start; ``n_products`` counts operator products; ``dim`` is
    p. Node units: those of the operator's eigenvalues.
    """

    nodes: Tensor
    weights: Tensor
    steps_taken: tuple[int, ...]
    n_products: int
    dim: int

    @property
    def n_vectors(self) -> int:
        """The number of random starts N."""
        return self.nodes.shape[0]

    def pooled(self) -> tuple[Tensor, Tensor]:
        """(nodes, weights) of the averaged measure: every valid node with weight tau_j / N (sum 1)."""
        valid = self.weights > 0
        return self.nodes[valid], self.weights[valid] / self.n_vectors

    def moment(self, order: int) -> tuple[float, float]:
        """(estimate of tr(A^order) / p, its standard error over the N starts).

        Exact per start for order <= 2 * steps_taken - 1 (in exact arithmetic).
        """
        require_integer("order", order, 0)
        per_start = (self.weights * torch.nan_to_num(self.nodes, nan=0.0) ** order).sum(dim=1)
        if self.n_vectors == 1:
            return float(per_start[0]), math.nan
        return float(per_start.mean()), float(per_start.std(correction=1)) / math.sqrt(self.n_vectors)

    def histogram(self, bins: int) -> tuple[Tensor, Tensor]:
        """(edges, masses): the averaged measure's mass in ``bins`` equal bins from its smallest to its
        largest node (float64; edges (bins + 1,) in eigenvalue units, masses (bins,) summing to 1).

        Bin i holds the nodes in [edges[i], edges[i + 1]), the last bin also its right edge. A measure
        on one point gets edges 1e-3 max(|point|, 1) either side of it.
        """
        require_integer("bins", bins, 1)
        nodes, weights = (values.to(torch.float64) for values in self.pooled())
        low, high = float(nodes.min()), float(nodes.max())
        if high <= low:
            pad = 1e-3 * max(abs(low), 1.0)
            low, high = low - pad, high + pad
        edges = torch.linspace(low, high, bins + 1, dtype=torch.float64)
        index = torch.clamp(torch.bucketize(nodes, edges, right=True) - 1, 0, bins - 1)
        masses = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, weights)
        return edges, masses

    def density(self, grid: Tensor, width: float) -> Tensor:
        """The averaged measure smoothed by a Gaussian of standard deviation ``width``, on ``grid``.

        Returns a float64 tensor shaped like ``grid``: a probability density (it integrates to 1
        over the real line), in inverse eigenvalue units.
        """
        if isinstance(width, bool) or not (isinstance(width, (int, float)) and width > 0):
            raise InvalidArgumentError("width", width, "a number > 0 (eigenvalue units)")
        nodes, weights = self.pooled()
        points = grid.to(torch.float64).reshape(-1, 1)
        kernel = torch.exp(-0.5 * ((points - nodes) / width) ** 2) / (width * math.sqrt(2 * math.pi))
        return (kernel * weights).sum(dim=1).reshape(grid.shape)


def spectral_density(
    operator: LinearOperator,
    *,
    n_vectors: int = 8,
    steps: int = 64,
    seed: int = 0,
    distribution: str = "rademacher",
) -> SpectralDensity:
    """The spectral density of ``operator`` by SLQ: ``n_vectors`` starts of ``steps`` Lanczos steps.

    Starts are normalized probes (``distribution``: "rademacher" or "gaussian") drawn on the CPU
    from one generator seeded with ``seed``. Costs at most n_vectors * steps products.
    """
    require_integer("n_vectors", n_vectors, 1)
    require_integer("steps", steps, 1)
    check_distribution(distribution)
    first = operator.n_products
    capacity = min(steps, operator.dim)
    nodes = torch.full((n_vectors, capacity), math.nan, dtype=torch.float64)
    weights = torch.zeros(n_vectors, capacity, dtype=torch.float64)
    taken = []
    generator = torch.Generator().manual_seed(seed)
    for row in range(n_vectors):
        start = operator_probes(operator, 1, generator, distribution)
        run = lanczos(
            lambda block: operator.matvec(block[0])[None],
            start,
            tol=_QUADRATURE_TOL,
            max_iter=steps,
            max_basis=max(steps, 4),
            bound="residual",
        )
        count = int(run.basis_size[0])
        values, vectors = torch.linalg.eigh(run.projected[0, :count, :count].cpu())
        nodes[row, :count] = values
        weights[row, :count] = vectors[0] ** 2
        taken.append(count)
    return SpectralDensity(nodes, weights, tuple(taken), operator.n_products - first, operator.dim)
