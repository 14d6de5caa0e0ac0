"""Analytic infinite-width references of the paper's network at init (docs/verdicts.md, "Analytic
infinite-width references"): pure functions of the inputs, the activation and sigma0.

As m -> infinity with sigma0 held at a width's own value sigma0(m), the pre-activations of layer l at
two inputs are jointly Gaussian with covariance sigma0^2 C^{l-1}, and

    C^0(x, x') = x . x' / c^2          (c = sqrt(d) with the 1/sqrt(d) input scale, else 1)
    C^l(x, x') = E[phi(u) phi(u')],    Cdot^l(x, x') = E[phi'(u) phi'(u')],
                 (u, u') ~ N(0, sigma0^2 [[C^{l-1}(x,x), C^{l-1}(x,x')], [C^{l-1}(x,x'), C^{l-1}(x',x')]]).

The empirical NTK splits into the head block A_L A_L^T / m, which tends to C^L, and the W^(l) blocks.
With a unit head vector (E v_j^2 = 1/m) the W blocks are O(1/m): back-propagating from the head gives
D^L = Cdot^L and D^l = sigma0^2 Cdot^l * D^{l+1} (entrywise), and the W^(l) block tends to
D^l * C^{l-1} / m. So the NTK at width m is K_m = C^L + W / m + (fluctuations of order m^-1/2) with

    W = sum_{l=1}^{L} D^l * C^{l-1}          (the 1/m W-block term; dimensionless)

and ||g_bar||^2 = 1^T K 1 / n^2 tends to 1^T C^L 1 / n^2 (plus 1^T W 1 / (m n^2)).

The Gaussian expectations are computed by Gauss-Hermite quadrature as a product rule after a Cholesky
factorization of each 2 x 2 covariance (u = a z1, u' = b z1 + c z2), for any activation given as a
torch function (its derivative by autograd); ReLU uses the closed-form arc-cosine kernels instead
(Cho and Saul 2009): for variances q, q' and correlation cos(t),

    E[relu(u) relu(u')] = sqrt(q q') (sin t + (pi - t) cos t) / (2 pi),
    E[1{u > 0} 1{u' > 0}] = (pi - t) / (2 pi).

Everything is float64 numpy; kernels are symmetric n x n arrays and dimensionless (outputs^2 per
parameter^2 for the NTK, which is dimensionless for the paper's network).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.models.activations import get_activation

__all__ = [
    "DEFAULT_ORDER",
    "NtkLimit",
    "arccos_kernel",
    "conjugate_kernels",
    "gaussian_expectation",
    "input_kernel",
    "ntk_limit",
    "per_layer_factor",
]

DEFAULT_ORDER = 32
"""Gauss-Hermite nodes per dimension (32^2 points per pair). Against order 160 on sphere data (n = 64,
d = 16, depth 2) the kernels' largest relative error is below 3e-11 at sigma0 <= 0.45 (sigma1 <= 1)
for every smooth registry activation and below 1.1e-4 at sigma0 = 1 (sigma1 ~ 2; tanh is the worst,
its poles at i pi / 2 slow the rule down); tests/analysis/test_infinite_width.py checks it."""
_CELLS = 2_000_000  # pairs x nodes^2 evaluated at once


@functools.cache
def _hermite(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights w with sum_i w_i g(z_i) = E[g(Z)], Z ~ N(0, 1) (exact for polynomials of
    degree < 2 order)."""
    nodes, weights = np.polynomial.hermite.hermgauss(order)
    return nodes * math.sqrt(2.0), weights / math.sqrt(math.pi)


def _apply(fn: Callable, values: np.ndarray) -> np.ndarray:
    return fn(torch.from_numpy(values)).detach().numpy()


def _derivative(fn: Callable) -> Callable:
    """phi' of an elementwise torch function, by autograd (float64)."""

    def derivative(values: torch.Tensor) -> torch.Tensor:
        leaf = values.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(leaf).sum(), leaf)
        return grad

    return derivative


def _check_covariance(q11: np.ndarray, q12: np.ndarray, q22: np.ndarray) -> tuple[np.ndarray, ...]:
    q11, q12, q22 = np.broadcast_arrays(*(np.asarray(q, dtype=np.float64) for q in (q11, q12, q22)))
    if np.any(~np.isfinite(q11)) or np.any(q11 < 0) or np.any(q22 < 0):
        raise InvalidArgumentError("q11/q22", "a negative or non-finite variance", "finite variances >= 0")
    return q11, q12, q22


def gaussian_expectation(
    f: Callable[[torch.Tensor], torch.Tensor],
    g: Callable[[torch.Tensor], torch.Tensor],
    q11: np.ndarray,
    q12: np.ndarray,
    q22: np.ndarray,
    *,
    order: int = DEFAULT_ORDER,
) -> np.ndarray:
    """E[f(u) g(u')] for (u, u') ~ N(0, [[q11, q12], [q12, q22]]), entrywise over broadcast arrays.

    ``f`` and ``g`` are elementwise torch functions (evaluated on float64 tensors). Gauss-Hermite
    product rule with ``order`` nodes per dimension after the Cholesky factorization u = a z1,
    u' = b z1 + c z2 (a = sqrt(q11), b = q12 / a, c = sqrt(q22 - b^2), clipped at 0 so that a
    correlation of 1 is exact). Units: those of f times g.
    """
    require_integer("order", order, 2)
    q11, q12, q22 = _check_covariance(q11, q12, q22)
    shape = q11.shape
    a = np.sqrt(q11).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(a > 0, q12.ravel() / np.where(a > 0, a, 1.0), 0.0)
    c = np.sqrt(np.clip(q22.ravel() - b * b, 0.0, None))
    z, w = _hermite(order)
    out = np.empty(a.size)
    chunk = max(1, _CELLS // (order * order))
    for start in range(0, a.size, chunk):
        part = slice(start, start + chunk)
        u = a[part, None] * z[None, :]  # (pairs, order): depends on z1 only
        fu = _apply(f, u)
        v = b[part, None, None] * z[None, :, None] + c[part, None, None] * z[None, None, :]
        gv = _apply(g, v)  # (pairs, z1, z2)
        inner = gv @ w  # average over z2
        out[part] = (fu * inner) @ w
    return out.reshape(shape)


def arccos_kernel(q11: np.ndarray, q12: np.ndarray, q22: np.ndarray, degree: int) -> np.ndarray:
    """Closed-form ReLU expectations (arc-cosine kernels of degree 0 and 1), entrywise.

    degree 1: E[relu(u) relu(u')] = sqrt(q11 q22) (sin t + (pi - t) cos t) / (2 pi);
    degree 0: E[1{u > 0} 1{u' > 0}] = (pi - t) / (2 pi); cos t = q12 / sqrt(q11 q22).
    """
    if degree not in (0, 1):
        raise InvalidArgumentError("degree", degree, "0 (step) or 1 (relu)")
    q11, q12, q22 = _check_covariance(q11, q12, q22)
    scale = np.sqrt(q11 * q22)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.clip(np.where(scale > 0, q12 / np.where(scale > 0, scale, 1.0), 1.0), -1.0, 1.0)
    angle = np.arccos(cosine)
    if degree == 0:
        return (math.pi - angle) / (2.0 * math.pi)
    return scale * (np.sin(angle) + (math.pi - angle) * cosine) / (2.0 * math.pi)


def input_kernel(X: np.ndarray, *, scale_input: bool = True) -> np.ndarray:
    """C^0 = X X^T / d (or X X^T without the input scale), float64, shape (n, n)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or not np.all(np.isfinite(X)):
        raise InvalidArgumentError("X", f"array of shape {X.shape}", "a finite (n, d) array")
    gram = X @ X.T
    return gram / X.shape[1] if scale_input else gram


def _layer(activation: str, covariance: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """(E[phi phi'], E[phi' phi']) of one layer for pre-activation covariance ``covariance`` (n x n)."""
    diagonal = np.diag(covariance)
    rows, cols = np.triu_indices(covariance.shape[0])
    q11, q12, q22 = diagonal[rows], covariance[rows, cols], diagonal[cols]
    if activation == "relu":
        value, slope = arccos_kernel(q11, q12, q22, 1), arccos_kernel(q11, q12, q22, 0)
    else:
        fn = get_activation(activation).fn
        prime = _derivative(fn)
        value = gaussian_expectation(fn, fn, q11, q12, q22, order=order)
        slope = gaussian_expectation(prime, prime, q11, q12, q22, order=order)
    return _symmetric(value, rows, cols, covariance.shape[0]), _symmetric(
        slope, rows, cols, covariance.shape[0]
    )


def _symmetric(upper: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    out = np.empty((n, n))
    out[rows, cols] = upper
    out[cols, rows] = upper
    return out


def conjugate_kernels(
    X: np.ndarray,
    activation: str,
    sigma0: float,
    depth: int,
    *,
    scale_input: bool = True,
    order: int = DEFAULT_ORDER,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The recursion's kernels: ([C^0, ..., C^L], [Cdot^1, ..., Cdot^L]), each n x n, dimensionless.

    ``activation`` is a registry name (rscbench.models.activations); ``sigma0`` the std of the W
    entries (rscbench.models.paper_net.init_std(sigma1, m) for width m).
    """
    require_integer("depth", depth, 1)
    if not (math.isfinite(sigma0) and sigma0 > 0):
        raise InvalidArgumentError("sigma0", sigma0, "a finite number > 0")
    get_activation(activation)
    kernels = [input_kernel(X, scale_input=scale_input)]
    slopes = []
    for _ in range(depth):
        value, slope = _layer(activation, sigma0**2 * kernels[-1], order)
        kernels.append(value)
        slopes.append(slope)
    return kernels, slopes


@dataclass(frozen=True)
class NtkLimit:
    """The NTK of the paper's network at init in the infinite-width limit, for one depth.

    ``head`` = C^L (the limit of the NTK and of its head block), ``w_blocks`` = W, the coefficient of
    the 1/m W-block term, so that ``at_width(m)`` = C^L + W / m. n x n, dimensionless.
    """

    head: np.ndarray
    w_blocks: np.ndarray

    def at_width(self, width: float) -> np.ndarray:
        """C^L + W / m: the limit with its 1/m W-block term at width m."""
        return self.head + self.w_blocks / float(width)

    def g_bar_sqnorm(self, width: float | None = None) -> float:
        """1^T K 1 / n^2 with K = C^L (``width`` None) or C^L + W / m: the limit of ||g_bar||^2."""
        kernel = self.head if width is None else self.at_width(width)
        return float(kernel.mean())

    def lambda_min(self, width: float | None = None) -> float:
        """lambda_min of C^L (``width`` None) or of C^L + W / m, in float64."""
        kernel = self.head if width is None else self.at_width(width)
        return float(np.linalg.eigvalsh(kernel)[0])


def ntk_limit(
    X: np.ndarray,
    activation: str,
    sigma0: float,
    depth: int,
    *,
    scale_input: bool = True,
    order: int = DEFAULT_ORDER,
) -> list[NtkLimit]:
    """The NTK limits of depths 1..``depth`` (one recursion serves every depth), element L-1 for depth L."""
    kernels, slopes = conjugate_kernels(X, activation, sigma0, depth, scale_input=scale_input, order=order)
    limits = []
    for top in range(1, depth + 1):
        backward = slopes[top - 1]
        w_blocks = backward * kernels[top - 1]
        for layer in range(top - 1, 0, -1):  # layers top-1 .. 1 (1-based), slopes index layer - 1
            backward = sigma0**2 * slopes[layer - 1] * backward
            w_blocks = w_blocks + backward * kernels[layer - 1]
        limits.append(NtkLimit(head=kernels[top], w_blocks=w_blocks))
    return limits


def per_layer_factor(depths: Sequence[float], values: Sequence[float]) -> float:
    """e^c of the least-squares line log y = log C + c L through (depth, value) pairs: the factor per
    added layer (dimensionless); nan with fewer than 2 distinct depths or a non-positive value."""
    depths = np.asarray(depths, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if np.unique(depths).size < 2 or np.any(~(values > 0)):
        return math.nan
    slope = np.polyfit(depths, np.log(values), 1)[0]
    return float(math.exp(slope))
