"""Exact curvature of the paper's network at depth 1 from its per-neuron blocks (docs/kernels.md).

At depth 1, f(theta; x) = (1/sqrt(m)) sum_j v_j phi(w_j . x / c) is a sum over neurons of functions of
each neuron's own parameters theta_j = (w_j, v_j) (c = sqrt(d) with the input scale, else 1). So
every predictor Hessian nabla^2 f(x), and with it the residual part R = (1/n) sum_i l'_i nabla^2 f_i
of the loss Hessian, is block-diagonal over neurons, with (d + 1) x (d + 1) blocks; writing
x~ = x / c, z_ij = w_j . x~_i, r_i = l'_i,

    R_j = (1 / (n sqrt(m))) sum_i r_i [[v_j phi''(z_ij) x~_i x~_i^T, phi'(z_ij) x~_i],
                                       [phi'(z_ij) x~_i^T,           0            ]].

lambda_min(R) is the smallest eigenvalue of any block: computed exactly (batched eigvalsh in
float64) after a certified screen (a block whose Frobenius norm is below the best upper bound
found cannot hold the minimum). One input's block [[v_j phi'' x~ x~^T, phi' x~], [., 0]] / sqrt(m)
has rank 2, so the predictor Hessian's extreme eigenvalues are those of 2 x 2 matrices, in closed
form. The Gauss-Newton part G = (1/n) J^T diag(l'') J is not block-diagonal (rank <= n); its
products J u and J^T s are taken per neuron as well. The loss Hessian's products H u = R u + G u
serve the cone bounds of the certificate (rscbench.measure.rsc). Every pass runs over chunks of
neurons, so time and memory grow linearly in m.

The structure holds for any model that is a sum over hidden units of functions of that unit's own
parameters with a scalar output: here the paper's network (PaperMLP) at depth 1 with one output,
under any elementwise activation (ReLU through autograd's phi'' = 0 a.e.) and a scalar loss. At
depth >= 2 the neurons of a layer couple through the next one and R has no such blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import Loss, check_targets, get_loss
from rscbench.measure.memory import neurons_per_chunk
from rscbench.models.paper_net import PaperMLP

__all__ = [
    "NeuronBlockParts",
    "ResidualMinimum",
    "neuron_block_parts",
    "neuron_blocks_apply",
    "neuron_predictor_extremes",
    "residual_minimum",
]


def neuron_blocks_apply(model: nn.Module) -> bool:
    """Whether the per-neuron block structure holds: the paper's network at depth 1 with one output."""
    return isinstance(model, PaperMLP) and model.depth == 1 and model.out_dim == 1


def _derivatives(fn: Callable[[Tensor], Tensor], z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """phi(z), phi'(z) and phi''(z) of an elementwise activation, by autograd (0 where it has none)."""
    with torch.enable_grad():
        leaf = z.detach().requires_grad_(True)
        value = fn(leaf)
        (first,) = torch.autograd.grad(value.sum(), leaf, create_graph=True)
        if first.requires_grad:
            (second,) = torch.autograd.grad(first.sum(), leaf)
        else:  # piecewise linear (ReLU): phi'' = 0 wherever it exists
            second = torch.zeros_like(leaf)
    return value.detach(), first.detach(), second.detach()


@dataclass(frozen=True)
class _Features:
    """One chunk of neurons [start, stop): pre-activations' phi, phi', phi'' (n x k) and v (k)."""

    start: int
    stop: int
    phi: Tensor
    slope: Tensor
    bend: Tensor
    v: Tensor


@dataclass(frozen=True)
class ResidualMinimum:
    """lambda_min(R) (loss units per squared parameter unit), the neuron whose block holds it, that
    block's bottom eigenvector (length d + 1: w_j's coordinates, then v_j's), and how many blocks
    the screen sent to eigvalsh out of the m."""

    value: float
    neuron: int
    vector: Tensor
    decomposed: int


class _DepthOne:
    """The depth-1 network in float64, with J, J^T and R applied per chunk of neurons.

    Parameter-space vectors are (m, d + 1) arrays: row j holds (w_j, v_j), the neuron's block
    coordinates (same inner products as the flat parameter vector, in another order).
    """

    def __init__(self, model: nn.Module, X: Tensor) -> None:
        """Raises InvalidArgumentError naming ``model`` where the structure does not hold."""
        if not neuron_blocks_apply(model):
            raise InvalidArgumentError(
                "model", type(model).__name__, "the paper's network (PaperMLP) at depth 1 with one output"
            )
        self.fn = model.activation.fn
        scale = model.layer_scales()[0]
        self.X = X.detach().to(torch.float64) / scale
        self.W = model.W1.detach().to(torch.float64)
        self.v = model.v.detach().to(torch.float64)
        self.n, self.d = self.X.shape
        self.m = self.W.shape[0]
        self.root_m = math.sqrt(self.m)
        self.chunk = neurons_per_chunk(self.n, self.d)

    def features(self) -> Iterator[_Features]:
        """Each chunk's features in neuron order."""
        for start in range(0, self.m, self.chunk):
            stop = min(self.m, start + self.chunk)
            z = self.X @ self.W[start:stop].T
            yield _Features(start, stop, *_derivatives(self.fn, z), self.v[start:stop])

    def outputs_and_mean_gradient(self) -> tuple[Tensor, Tensor]:
        """f(theta; x_i) for every row (n,) and g_bar = J^T 1 / n ((m, d + 1)), in one pass."""
        outputs, g_bar = self.X.new_zeros(self.n), self.X.new_zeros(self.m, self.d + 1)
        mean = self.X.new_full((self.n, 1), 1.0 / self.n)
        for chunk in self.features():
            outputs += chunk.phi @ chunk.v / self.root_m
            self._transposed(mean, chunk, [g_bar])
        return outputs, g_bar

    def _transposed(self, s: Tensor, chunk: _Features, into: list[Tensor]) -> None:
        """Add the chunk's rows of J^T s for each column of s (n x q) to the rows of ``into`` (q
        (m, d + 1) arrays, in place): w_j gets (v_j / sqrt(m)) sum_i s_i phi'(z_ij) x~_i, v_j gets
        (1/sqrt(m)) sum_i s_i phi(z_ij)."""
        heads = chunk.phi.T @ s / self.root_m
        for column, head, out in zip(s.T, heads.T, into, strict=True):
            rows = out[chunk.start : chunk.stop]
            weights = ((chunk.slope * column[:, None]).T @ self.X) * (chunk.v / self.root_m)[:, None]
            rows[:, :-1] += weights
            rows[:, -1] += head

    def residual_pass(
        self, r: Tensor, vectors: list[Tensor], search: _Search | None = None
    ) -> tuple[list[Tensor], Tensor]:
        """One pass over the neurons: R u (into one new (m, d + 1) array per u) and the columns J u
        (n x q) for each u of ``vectors``, with residual weights r = l'; with a ``search``, it
        screens every chunk for lambda_min(R) on the same features."""
        jvps = self.X.new_zeros(self.n, len(vectors))
        products = [self.X.new_empty(self.m, self.d + 1) for _ in vectors]
        scale = self.n * self.root_m
        for chunk in self.features():
            if search is not None:
                search.screen(self, r, chunk)
            for index, (u, out) in enumerate(zip(vectors, products, strict=True)):
                part = u[chunk.start : chunk.stop]
                along = self.X @ part[:, :-1].T  # x~_i . u_wj
                jvps[:, index] += ((chunk.slope * along) @ chunk.v + chunk.phi @ part[:, -1]) / self.root_m
                weight = r[:, None] * (chunk.bend * along * chunk.v + chunk.slope * part[:, -1])
                rows = out[chunk.start : chunk.stop]
                rows[:, :-1] = weight.T @ self.X / scale
                rows[:, -1] = (r[:, None] * chunk.slope * along).sum(0) / scale
        return products, jvps

    def add_gauss_newton(self, curvature: Tensor, jvps: Tensor, into: list[Tensor]) -> None:
        """One pass adding G u = J^T diag(l'' / n) J u to each array of ``into``, given its J u
        (the columns of ``jvps``) and the curvatures l''."""
        weights = curvature[:, None] * jvps / self.n
        for chunk in self.features():
            self._transposed(weights, chunk, into)

    def hessian(self, r: Tensor, curvature: Tensor, vectors: list[Tensor]) -> list[Tensor]:
        """H u = R u + J^T diag(l'' / n) J u for each u of ``vectors`` ((m, d + 1) each), with residual
        weights r = l' and curvatures l'': two passes, the products written in place."""
        products, jvps = self.residual_pass(r, vectors)
        self.add_gauss_newton(curvature, jvps, products)
        return products

    def neuron_jvp(self, neuron: int, coordinates: Tensor) -> Tensor:
        """J u (n,) for a vector u supported on one neuron's block (its d + 1 ``coordinates``)."""
        z = self.X @ self.W[neuron]
        phi, slope, _ = _derivatives(self.fn, z)
        return (slope * self.v[neuron] * (self.X @ coordinates[:-1]) + phi * coordinates[-1]) / self.root_m

    def blocks(self, r: Tensor, bend: Tensor, slope: Tensor, v: Tensor) -> Tensor:
        """The blocks R_j of the neurons whose phi'' (``bend``), phi' (``slope``) columns and head
        entries ``v`` are given, shape (k, d + 1, d + 1), float64."""
        d = self.d
        outer = (self.X[:, :, None] * self.X[:, None, :]).reshape(self.n, d * d)
        top = ((r[:, None] * bend).T @ outer).reshape(-1, d, d) * v[:, None, None]
        side = (r[:, None] * slope).T @ self.X
        block = self.X.new_zeros(v.shape[0], d + 1, d + 1)
        block[:, :d, :d] = top
        block[:, :d, d] = side
        block[:, d, :d] = side
        return block / (self.n * self.root_m)

    def residual_minimum(self, r: Tensor) -> ResidualMinimum:
        """lambda_min(R) over every block (one screened pass: _Search)."""
        search = _Search(self.X)
        self.residual_pass(r, [], search)
        return search.result()


class _Search:
    """The running search for lambda_min(R) over the chunks of a pass, each chunk screened first.

    With R_j = [[A_j, b_j], [b_j^T, 0]], Weyl's inequality gives lambda_min(R_j) >=
    -(||A_j||_2 + ||b_j||) >= -(|v_j| sum_i |r_i phi''(z_ij)| ||x~_i||^2 / (n sqrt(m)) + ||b_j||),
    and the unit vector (-b^_j, 1) / sqrt(2) (b^ = b / ||b||) gives the upper bound
    b^_j^T A_j b^_j / 2 - ||b_j||. Only the blocks whose lower bound is at most the smallest
    upper bound found so far can hold the minimum; only they are formed and decomposed
    (eigvalsh). At large m, A_j = O(m^-1) against b_j = O(m^-1/2), so the screen keeps few.
    """

    def __init__(self, X: Tensor) -> None:
        self.best, self.neuron, self.decomposed, self.held = math.inf, -1, 0, None
        self.sizes = X.square().sum(1)

    def screen(self, net: _DepthOne, r: Tensor, chunk: _Features) -> None:
        """Update the minimum with the chunk's blocks that pass the screen."""
        scale = net.n * net.root_m
        side = (r[:, None] * chunk.slope).T @ net.X / scale
        side_norm = side.norm(dim=1)
        unit = side / side_norm.clamp_min(torch.finfo(torch.float64).tiny)[:, None]
        bent = r[:, None] * chunk.bend
        quotient = (bent * (net.X @ unit.T).square()).sum(0) * chunk.v / (2 * scale) - side_norm
        floor = -(chunk.v.abs() * (bent.abs().T @ self.sizes) / scale + side_norm)
        candidates = torch.nonzero(floor <= min(self.best, float(quotient.min()))).flatten()
        if candidates.numel() == 0:  # no block of this chunk can beat the best so far
            return
        blocks = net.blocks(r, chunk.bend[:, candidates], chunk.slope[:, candidates], chunk.v[candidates])
        self.decomposed += candidates.numel()
        values = torch.linalg.eigvalsh(blocks)[:, 0]
        position = int(values.argmin())
        if float(values[position]) < self.best:
            self.best, self.held = float(values[position]), blocks[position]
            self.neuron = chunk.start + int(candidates[position])

    def result(self) -> ResidualMinimum:
        """The minimum found, with its neuron and that block's bottom eigenvector."""
        _, vectors = torch.linalg.eigh(self.held)
        return ResidualMinimum(self.best, self.neuron, vectors[:, 0], self.decomposed)


def _dot(left: Tensor, right: Tensor) -> float:
    """<left, right> of two (m, d + 1) arrays without a temporary of their size."""
    return float(torch.dot(left.reshape(-1), right.reshape(-1)))


def _loss_parts(
    model: nn.Module, X: Tensor, y: Tensor, loss: str
) -> tuple[Loss, _DepthOne, Tensor, Tensor, Tensor]:
    """The loss, the float64 network (which checks that the structure applies), its outputs, g_bar and
    the targets in float64."""
    net = _DepthOne(model, X)
    chosen = get_loss(loss)
    if not chosen.scalar_output:
        raise InvalidArgumentError("loss", loss, "a scalar-output loss: square or logistic")
    outputs, g_bar = net.outputs_and_mean_gradient()
    check_targets(chosen, outputs, y)
    return chosen, net, outputs, g_bar, y.to(torch.float64)


def residual_minimum(model: nn.Module, X: Tensor, y: Tensor, loss: str = "square") -> ResidualMinimum:
    """lambda_min(R) of the loss at the model's parameters, exact, from the per-neuron blocks.

    R = (1/n) sum_i l'_i nabla^2 f(theta; x_i). Float64 whatever the model's dtype. Time
    O(m n d) for the screen plus O(n d^2) and one eigvalsh per block it keeps; memory one chunk
    (rscbench.measure.memory.NEURON_CHUNK_BYTES) and the parameters in float64.
    """
    chosen, net, outputs, _, targets = _loss_parts(model, X, y, loss)
    return net.residual_minimum(chosen.first(outputs, targets))


@dataclass(frozen=True)
class NeuronBlockParts:
    """The exact pieces of the RSC certificate at depth 1 (rscbench.measure.rsc assembles the bounds).

    ``g_bar_sqnorm`` = ||g_bar||^2, ``residual`` = lambda_min(R) with its neuron,
    ``min_loss_curvature`` = min_i l''_i, ``a`` = u_g^T H u_g and ``b_norm`` = ||P H u_g|| (u_g =
    g_bar / ||g_bar||, P the projector orthogonal to it), ``reduced`` = Q^T H Q for an orthonormal
    Q whose first column is u_g and whose others span P e (e the bottom eigenvector of R) and
    P H u_g (a float64 numpy array of size 1 to 3), ``n_products`` the products with H taken.
    Loss units per squared parameter unit (g_bar_sqnorm: output units^2 per parameter unit^2).
    """

    g_bar_sqnorm: float
    residual: ResidualMinimum
    min_loss_curvature: float
    a: float
    b_norm: float
    reduced: np.ndarray
    n_products: int


def neuron_block_parts(model: nn.Module, X: Tensor, y: Tensor, loss: str = "square") -> NeuronBlockParts:
    """Every exact piece of the depth-1 RSC certificate, in float64, with time and memory linear in m.

    One pass gives the outputs and g_bar = J^T 1 / n; one lambda_min(R) (_Search) with R u_g and
    J u_g; one adds the Gauss-Newton parts of H u_g and H e (e, R's bottom eigenvector, lives on one
    neuron: R e = lambda_min(R) e and J e from that neuron alone); two give H b (b = P H u_g): five
    passes over the neuron chunks.
    Memory: rscbench.measure.memory.neuron_certificate_bytes (NEURON_CERTIFICATE_VECTORS
    parameter-sized float64 vectors plus one chunk of neurons).
    """
    chosen, net, outputs, g_bar, targets = _loss_parts(model, X, y, loss)
    r, curvature = chosen.first(outputs, targets), chosen.second(outputs, targets)
    g_bar_sqnorm = _dot(g_bar, g_bar)
    if not (math.isfinite(g_bar_sqnorm) and g_bar_sqnorm > 0):
        raise InvalidArgumentError(
            "g_bar", f"a vector of squared norm {g_bar_sqnorm}", "a finite non-zero g_bar"
        )
    axis = g_bar.div_(math.sqrt(g_bar_sqnorm))
    search = _Search(net.X)
    (h_axis,), jvp_axis = net.residual_pass(r, [axis], search)
    residual = search.result()
    bottom = torch.zeros_like(axis)
    bottom[residual.neuron] = residual.vector
    # R is block-diagonal and e is an eigenvector of its block: R e = lambda_min(R) e exactly
    h_bottom = bottom * residual.value
    jvps = torch.stack([jvp_axis[:, 0], net.neuron_jvp(residual.neuron, residual.vector)], 1)
    net.add_gauss_newton(curvature, jvps, [h_axis, h_bottom])
    a = _dot(axis, h_axis)
    b = torch.add(h_axis, axis, alpha=-a)
    b_norm = math.sqrt(_dot(b, b))
    pending = [(bottom, h_bottom)]
    if b_norm > 0:
        b.div_(b_norm)
        pending.append((b, net.hessian(r, curvature, [b])[0]))
    basis, images = [axis], [h_axis]
    for candidate, image in pending:  # orthogonalized in place: neither is needed afterwards
        for _ in range(2):  # Gram-Schmidt twice, applied to the vector and its image alike
            for q, hq in zip(basis, images, strict=True):
                overlap = _dot(q, candidate)
                candidate.add_(q, alpha=-overlap)
                image.add_(hq, alpha=-overlap)
        norm = math.sqrt(_dot(candidate, candidate))
        if norm > 1e-8:  # of a unit vector: what is left after removing the basis
            basis.append(candidate.div_(norm))
            images.append(image.div_(norm))
    reduced = np.array([[_dot(q, hq) for hq in images] for q in basis])
    return NeuronBlockParts(
        g_bar_sqnorm=g_bar_sqnorm,
        residual=residual,
        min_loss_curvature=float(curvature.min()),
        a=a,
        b_norm=b_norm,
        reduced=(reduced + reduced.T) / 2,
        n_products=1 + len(pending),
    )


def neuron_predictor_extremes(model: nn.Module, X: Tensor) -> tuple[Tensor, Tensor]:
    """(lambda_max, lambda_min) of nabla^2_theta f(theta; x) for each row x of X, exact, shape (n,) each.

    Neuron j's block at x is [[a_j x^ x^T, b_j x^], [b_j x^T, 0]] (x^ = x~ / ||x~||) with
    a_j = v_j phi''(z_j) ||x~||^2 / sqrt(m) and b_j = phi'(z_j) ||x~|| / sqrt(m): eigenvalues
    a_j / 2 +- sqrt(a_j^2 / 4 + b_j^2), and 0 on the rest of the block. Dimensionless (f is
    scalar); float64, in the model's device; time and memory O(n m) per chunk.
    """
    net = _DepthOne(model, X)
    size = net.X.norm(dim=1)
    top, bottom = net.X.new_zeros(net.n), net.X.new_zeros(net.n)
    for chunk in net.features():
        a = chunk.v * chunk.bend * (size**2)[:, None] / net.root_m
        b = chunk.slope * size[:, None] / net.root_m
        radius = torch.sqrt(a * a / 4 + b * b)
        upper = a / 2 + radius
        # the smaller root as -b^2 / upper where a > 0 (no cancellation)
        lower = torch.where(
            a > 0, -(b * b) / upper.clamp_min(torch.finfo(torch.float64).tiny), a / 2 - radius
        )
        top = torch.maximum(top, upper.max(dim=1).values)
        bottom = torch.minimum(bottom, lower.min(dim=1).values)
    return top, bottom
