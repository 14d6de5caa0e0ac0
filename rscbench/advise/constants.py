"""The infinite-width constants of one advise question (docs/science.md, "Analytic infinite-width
references"): the limit of ||g_bar(theta_0)||^2 as m -> infinity, the Gauss-Newton term it gives the
certificate, and the per-layer factor of that limit in depth."""

from __future__ import annotations

from dataclasses import dataclass

from rscbench.advise.query import AdviceQuery
from rscbench.analysis.infinite_width import ntk_limit, per_layer_factor
from rscbench.data import load_dataset

__all__ = ["InfiniteWidth", "infinite_width_constants"]

SQUARE_CURVATURE = 2.0
"""l'' of the square loss (y - f)^2: the Gauss-Newton term is l'' kappa^2 ||g_bar||^2."""


@dataclass(frozen=True)
class InfiniteWidth:
    """The limits at m -> infinity, where sigma0(m) -> sigma1 / 2 (rscbench.models.paper_net.init_std):

    ``g_bar_sqnorm`` = 1^T C^L 1 / n^2 (dimensionless); ``gauss_newton`` = 2 kappa^2 times it (loss
    units per parameter^2: the certificate's Gauss-Newton term tends to it, while -lambda_min(R) tends
    to 0, so m* is finite exactly when it is > 0); ``per_layer_factor`` = e^c of the least-squares line
    log(limit) = log C + c L over depths 1..max(L, 2) (how much each added layer multiplies it).
    """

    g_bar_sqnorm: float
    gauss_newton: float
    per_layer_factor: float
    depths: tuple[int, ...]


def infinite_width_constants(query: AdviceQuery) -> InfiniteWidth:
    """The InfiniteWidth of ``query``'s family on its dataset (one conjugate-kernel recursion)."""
    data = load_dataset(query.dataset, n=query.n, d=query.d)
    X = data.X.double().numpy()
    depths = tuple(range(1, max(query.depth, 2) + 1))
    limits = [limit.g_bar_sqnorm() for limit in ntk_limit(X, query.activation, query.sigma1 / 2, depths[-1])]
    value = limits[query.depth - 1]
    return InfiniteWidth(
        g_bar_sqnorm=value,
        gauss_newton=SQUARE_CURVATURE * query.kappa**2 * value,
        per_layer_factor=per_layer_factor(depths, limits),
        depths=depths,
    )
