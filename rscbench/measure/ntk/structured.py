"""The layer-wise NTK Gram of the paper's network: one forward and one backward, no parameter-sized vector.

K = sum_l (Delta_l Delta_l^T) * (A_{l-1} A_{l-1}^T) / c_l^2 + A_L A_L^T / m (``*`` elementwise), with
A_l the activations (n x m) and Delta_l = d f_i / d z_l the backpropagated vectors.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rscbench.models.paper_net import PaperMLP


def paper_row_act(model: PaperMLP, X: Tensor) -> int:
    """Bytes the paper network's forward saves per row: (d + m L + 1) elements."""
    return (X.shape[1] + model.width * model.depth + 1) * X.dtype.itemsize


__all__ = ["paper_row_act", "structured_factors", "structured_gram"]


def structured_gram(model: PaperMLP, X: Tensor) -> Tensor:
    acts, deltas, scales = structured_factors(model, X)
    K = acts[-1] @ acts[-1].T / model.width
    for a_prev, delta, c in zip(acts[:-1], deltas, scales, strict=True):
        K = K + (delta @ delta.T) * (a_prev @ a_prev.T) / (c * c)
    return (K + K.T) / 2


def structured_factors(model: PaperMLP, X: Tensor) -> tuple[list[Tensor], list[Tensor], list[float]]:
    """Activations A_0 = X, ..., A_L and backpropagated vectors Delta_1..Delta_L (each n x m_l)."""
    weights = [w.detach() for w in model.weights()]
    scales = model.layer_scales()
    phi = model.activation.fn
    with torch.enable_grad():
        hidden = X.detach()
        acts, pre = [hidden], []
        for layer, (weight, c) in enumerate(zip(weights, scales, strict=True)):
            z = hidden @ weight.T / c
            if layer == 0:
                z.requires_grad_(True)  # X and W detached: z_1 is the leaf the backward starts from
            pre.append(z)
            hidden = phi(z)
            acts.append(hidden)
        f = hidden @ model.v.detach() / math.sqrt(model.width)
        # Rows are independent, so d(sum_i f_i)/d z_l[i] = d f_i / d z_l[i]: one backward for all samples.
        deltas = torch.autograd.grad(f.sum(), pre)
    return [a.detach() for a in acts], [d.detach() for d in deltas], scales
