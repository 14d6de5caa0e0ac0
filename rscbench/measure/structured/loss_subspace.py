"""The structured subspace of the paper's network that holds the loss Hessian's range, and exact
products with H, G and R in an orthonormal basis of it (derivation in docs/kernels.md).

Network f(x) = v^T h_L / sqrt(m), h_l = phi(z_l), z_l = W_l h_{l-1} / c_l, h_0 = x; per sample
delta_l = df/dz_l. The gradient block of W_l is delta_l h_{l-1}^T / c_l, so every second
derivative of f_i restricted to that block is (d delta_l) h_{l-1}^T + delta_l (d h_{l-1})^T, and
H = (1/n) sum_i l''_i grad f_i grad f_i^T + (1/n) sum_i l'_i nabla^2 f_i has its W_l block range in

    S_l = { E U_l^T + D_l Q^T },  U_l an orthonormal basis of span_i h_{l-1}(i),
                                  D_l one of span_i delta_l(i)   (Householder QR of n columns),

(only E U_1^T for W_1: the input does not move), and its head block anywhere in R^m. With the
columns of Q kept orthogonal to U_l, (E, Q) -> E U_l^T + D_l Q^T is an isometry, so in these
coordinates H, G and R are Pi Phi^T H Phi Pi (Pi the projection of Q), with exactly the non-zero
eigenvalues of H, G and R; where dim S < p they also have the eigenvalue 0 on the complement of S.

Products are taken in closed form (forward tangents, then the tangent of the backward pass), on
quantities cached at theta: per layer phi'(z), l' phi''(z) times the backpropagated vector, the
loss's backpropagated signal (n x m each), and the small n x r factors. Two facts make them cheap:
the rows of h_{l-1} lie in span U_l, so h_{l-1} Q = 0, and a product never forms an m x m matrix:
its cost is the two width-m^2 products of a forward tangent and a backward tangent per layer,
2 n m^2, plus about 12 n m r (r = min(n, m)) of low-rank work, against 3 n m^2 for one gradient.
Memory: about 3 n m numbers per layer and the factors; the weights are the model's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import Loss
from rscbench.models.paper_net import PaperMLP

__all__ = ["PARTS", "STRUCTURED_MAX_FRACTION", "LossSubspace", "SubspaceDims", "loss_subspace_dims"]

STRUCTURED_MAX_FRACTION = 0.6
"""The subspace is preferred to parameter space when its coordinates are at most this fraction of
the parameters. At n = 256, depth 3, d = 32 that is width >= 1024 (fraction 0.51), where the
benchmarks measured its top eigenvalue faster than parameter space's (docs/kernels.md)."""
PARTS = ("hessian", "gauss_newton", "residual")
"""Which operator ``LossSubspace.product`` applies: H, its Gauss-Newton part G, or R = H - G."""


@dataclass(frozen=True)
class SubspaceDims:
    """Sizes of the structured subspace: ``coordinates`` (length of its vectors), ``dimension``
    (dim S; below ``coordinates`` by the Q blocks' components along U, which Pi removes) and
    ``parameters`` (p)."""

    coordinates: int
    dimension: int
    parameters: int

    @property
    def preferred(self) -> bool:
        """Whether to work in S rather than in parameter space (STRUCTURED_MAX_FRACTION)."""
        return self.coordinates <= STRUCTURED_MAX_FRACTION * self.parameters

    @property
    def complement(self) -> bool:
        """Whether S is a proper subspace (the operators then have the eigenvalue 0 outside it)."""
        return self.dimension < self.parameters


def _ranks(n: int, d: int, width: int, depth: int) -> list[tuple[int, int, int]]:
    """Per layer (fan-in, r = columns of U, columns of D or 0 when the layer has no Q block)."""
    layers = [(d, min(n, d), 0)]
    for _ in range(depth - 1):
        r = min(n, width)
        layers.append((width, r, min(n, width) if r < width else 0))
    return layers


def loss_subspace_dims(n: int, d: int, width: int, depth: int) -> SubspaceDims:
    """Sizes of S for n samples of dimension d, width m and depth L (no model needed).

    Per layer m r coordinates for E and m r' for Q (r = min(n, fan-in), r' = min(n, m), no Q block
    for W_1 or where r = m), plus m for the head; dim S counts (m - r) r' for each Q block.
    """
    layers = _ranks(n, d, width, depth)
    coordinates = sum(width * (r + q) for _, r, q in layers) + width
    dimension = sum(width * r + (width - r) * q for _, r, q in layers) + width
    parameters = width * d + (depth - 1) * width * width + width
    return SubspaceDims(coordinates, dimension, parameters)


def _activation_derivatives(phi, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """phi(z), phi'(z) and phi''(z), elementwise, by autograd (relu: phi'' = 0, as autograd has it)."""
    with torch.enable_grad():
        leaf = z.detach().requires_grad_(True)
        value = phi(leaf)
        (first,) = torch.autograd.grad(value.sum(), leaf, create_graph=True)
        second = torch.autograd.grad(first.sum(), leaf)[0] if first.requires_grad else torch.zeros_like(first)
    return value.detach(), first.detach(), second


def _orthonormal_columns(matrix: Tensor) -> Tensor:
    """An orthonormal basis (Householder QR) of a space that contains the columns of ``matrix``."""
    return torch.linalg.qr(matrix)[0]


class LossSubspace:
    """The subspace S at the model's parameters for the data (X, y) and a scalar-output ``loss``.

    Vectors of S are flat coordinate vectors of length ``dims.coordinates``: per layer the block
    E_l (m x r_l), then Q_l (m x r'_l) where the layer has one, then the head (m). ``product`` applies
    H, G or R (``part``); ``mean_output_gradient`` gives g_bar's coordinates; ``embed`` and
    ``coordinates_of`` map to and from parameter space (Psi and Psi^T).
    """

    def __init__(self, model: PaperMLP, X: Tensor, y: Tensor, loss: Loss) -> None:
        if not isinstance(model, PaperMLP) or model.out_dim != 1:
            raise InvalidArgumentError("model", type(model).__name__, "a PaperMLP with out_dim=1")
        if not loss.scalar_output:
            raise InvalidArgumentError("loss", loss.name, "a scalar-output loss (square or logistic)")
        self.width, self.depth, self.n = model.width, model.depth, X.shape[0]
        self.weights = [w.detach() for w in model.weights()]
        self.head = model.v.detach()
        self.scales = model.layer_scales()
        self.dims = loss_subspace_dims(self.n, model.in_dim, model.width, model.depth)
        self.dtype, self.device = X.dtype, X.device
        self.n_products = 0
        root = math.sqrt(self.width)

        inputs, first, second = [], [], []
        hidden = X
        for weight, scale in zip(self.weights, self.scales, strict=True):
            inputs.append(hidden)
            hidden, d1, d2 = _activation_derivatives(model.activation.fn, hidden @ weight.T / scale)
            first.append(d1)
            second.append(d2)
        self.top = hidden
        outputs = hidden @ self.head / root
        slope = loss.first(outputs, y) / self.n  # dL/df_i
        self.curvature = loss.second(outputs, y) / self.n  # d^2L/df_i^2

        # Backpropagated vectors of f per sample: toward h_l (upstream) and toward z_l (delta_l).
        upstream = (self.head / root).expand(self.n, self.width)
        deltas: list[Tensor] = [torch.empty(0)] * self.depth
        self.signal_curvature: list[Tensor] = [torch.empty(0)] * self.depth
        for layer in reversed(range(self.depth)):
            deltas[layer] = upstream * first[layer]
            self.signal_curvature[layer] = slope[:, None] * upstream * second[layer]
            upstream = deltas[layer] @ self.weights[layer] / self.scales[layer]
        self.slope, self.first = slope, first
        self.signal = [slope[:, None] * delta for delta in deltas]  # dL/dz_l
        self.mean_deltas = [delta / self.n for delta in deltas]

        self.inputs_basis = [_orthonormal_columns(h.T) for h in inputs]
        self.inputs_coords = [h @ u for h, u in zip(inputs, self.inputs_basis, strict=True)]
        self.delta_basis: list[Tensor | None] = []
        self.signal_coords: list[Tensor | None] = []
        for layer, (_, _, q) in enumerate(_ranks(self.n, model.in_dim, self.width, self.depth)):
            if q:
                basis = _orthonormal_columns(deltas[layer].T)
                self.delta_basis.append(basis)
                self.signal_coords.append(self.signal[layer] @ basis)
            else:
                self.delta_basis.append(None)
                self.signal_coords.append(None)
        self._shapes: list[tuple[str, int, tuple[int, ...]]] = []
        for layer in range(self.depth):
            self._shapes.append(("E", layer, (self.width, self.inputs_basis[layer].shape[1])))
            if self.delta_basis[layer] is not None:
                self._shapes.append(("Q", layer, (self.width, self.delta_basis[layer].shape[1])))
        self._shapes.append(("v", self.depth, (self.width,)))

    @property
    def size(self) -> int:
        """Length of a coordinate vector."""
        return self.dims.coordinates

    def _split(self, coords: Tensor) -> tuple[list[Tensor], list[Tensor | None], Tensor]:
        sizes = [math.prod(shape) for _, _, shape in self._shapes]
        pieces = torch.split(coords, sizes)
        es: list[Tensor] = [torch.empty(0)] * self.depth
        qs: list[Tensor | None] = [None] * self.depth
        for (kind, layer, shape), piece in zip(self._shapes, pieces, strict=True):
            if kind == "E":
                es[layer] = piece.reshape(shape)
            elif kind == "Q":
                qs[layer] = piece.reshape(shape)
        return es, qs, pieces[-1]

    def _join(self, es: list[Tensor], qs: list[Tensor | None], head: Tensor) -> Tensor:
        parts = []
        for layer in range(self.depth):
            parts.append(es[layer].reshape(-1))
            if qs[layer] is not None:
                parts.append(qs[layer].reshape(-1))
        parts.append(head)
        return torch.cat(parts)

    def _project_q(self, layer: int, q: Tensor) -> Tensor:
        basis = self.inputs_basis[layer]
        return q - basis @ (basis.T @ q)

    def project(self, coords: Tensor) -> Tensor:
        """Pi: the coordinates with every Q block made orthogonal to its U (a copy)."""
        es, qs, head = self._split(coords)
        qs = [None if q is None else self._project_q(layer, q) for layer, q in enumerate(qs)]
        return self._join(es, qs, head)

    def product(self, coords: Tensor, part: str = "hessian") -> Tensor:
        """Pi Phi^T A Phi Pi coords for A = H, G or R (``part``), exactly; flat in, flat out."""
        if part not in PARTS:
            raise InvalidArgumentError("part", part, "one of " + ", ".join(PARTS))
        self.n_products += 1
        gauss_newton, residual = part != "residual", part != "gauss_newton"
        es, qs, head_tangent = self._split(coords)
        qs = [None if q is None else self._project_q(layer, q) for layer, q in enumerate(qs)]
        root = math.sqrt(self.width)

        tangents, hidden_tangents = [], []
        hidden_tangent = None
        for layer, (weight, scale) in enumerate(zip(self.weights, self.scales, strict=True)):
            z = self.inputs_coords[layer] @ es[layer].T
            if hidden_tangent is not None:
                z = z + hidden_tangent @ weight.T
            z = z / scale
            hidden_tangents.append(hidden_tangent)
            tangents.append(z)
            hidden_tangent = self.first[layer] * z
        output_tangent = (self.top @ head_tangent + hidden_tangent @ self.head) / root

        out_e: list[Tensor] = [torch.empty(0)] * self.depth
        out_q: list[Tensor | None] = [None] * self.depth
        out_head = torch.zeros_like(head_tangent)
        upstream = torch.zeros_like(self.top)
        if gauss_newton:
            curvature_tangent = self.curvature * output_tangent
            upstream = upstream + curvature_tangent[:, None] * (self.head / root)
            out_head = out_head + self.top.T @ curvature_tangent / root
        if residual:
            upstream = upstream + self.slope[:, None] * (head_tangent / root)
            out_head = out_head + hidden_tangent.T @ self.slope / root
        for layer in reversed(range(self.depth)):
            scale, below = self.scales[layer], hidden_tangents[layer]
            signal_tangent = upstream * self.first[layer]
            if residual:
                signal_tangent = signal_tangent + self.signal_curvature[layer] * tangents[layer]
            e = signal_tangent.T @ self.inputs_coords[layer]
            if residual and below is not None:
                e = e + self.signal[layer].T @ (below @ self.inputs_basis[layer])
            out_e[layer] = e / scale
            if qs[layer] is not None:
                q = below.T @ self.signal_coords[layer] if residual else torch.zeros_like(qs[layer])
                out_q[layer] = self._project_q(layer, q) / scale
            if layer == 0:
                break
            upstream = signal_tangent @ self.weights[layer]
            if residual:
                upstream = upstream + (self.signal[layer] @ es[layer]) @ self.inputs_basis[layer].T
                if qs[layer] is not None:
                    upstream = upstream + self.signal_coords[layer] @ qs[layer].T
            upstream = upstream / scale
        return self._join(out_e, out_q, out_head)

    def mean_output_gradient(self) -> Tensor:
        """Coordinates of g_bar = (1/n) sum_i grad f_i (its Q blocks are 0: g_bar's blocks lie in E)."""
        es = [
            (delta.T @ coords) / scale
            for delta, coords, scale in zip(self.mean_deltas, self.inputs_coords, self.scales, strict=True)
        ]
        qs = [
            None if basis is None else basis.new_zeros(self.width, basis.shape[1])
            for basis in self.delta_basis
        ]
        head = self.top.sum(0) / (self.n * math.sqrt(self.width))
        return self._join(es, qs, head)

    def embed(self, coords: Tensor) -> dict[str, Tensor]:
        """Psi coords: the parameter-space vector, as a dict shaped like the parameters (W1 .. WL, v)."""
        es, qs, head = self._split(coords)
        vector = {}
        for layer in range(self.depth):
            block = es[layer] @ self.inputs_basis[layer].T
            if qs[layer] is not None:
                block = block + self.delta_basis[layer] @ self._project_q(layer, qs[layer]).T
            vector[f"W{layer + 1}"] = block
        vector["v"] = head.clone()
        return vector

    def coordinates_of(self, vector: dict[str, Tensor]) -> Tensor:
        """Psi^T vector for a parameter-space vector given as a dict (W1 .. WL, v)."""
        es, qs = [], []
        for layer in range(self.depth):
            block = vector[f"W{layer + 1}"]
            es.append(block @ self.inputs_basis[layer])
            basis = self.delta_basis[layer]
            qs.append(None if basis is None else self._project_q(layer, block.T @ basis))
        return self._join(es, qs, vector["v"])
