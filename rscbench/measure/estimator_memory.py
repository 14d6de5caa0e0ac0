"""Memory of the stochastic curvature estimators and of the optimizers' state, in bytes.

The terms and units are those of rscbench.measure.memory (P one parameter-sized vector, ``act`` the
bytes a forward pass saves for its backward, GRAPH_ACTS + HVP_ACTS act for a Hessian operator that
keeps its gradient graph); these estimators run on a rscbench.measure.hvp.HessianOperator of the
loss, which holds its leaves and gradient (2 P) and the graph throughout.

- Q11, hutchpp_trace with m products and k = m // 3: the larger of drawing the Rademacher sketch
  S (k p int64 and k p float64 at once: 16 k p bytes) and stacking its images (S, the images as a
  list and stacked: 3 k p s bytes), so 4 k P in float32 and 3 k P in float64 (measured at width
  384, depth 2, n 128: 3.99 P per sketch column in float32), plus the operator's leaves and
  gradient, a probe and a product's pieces (4 P).
- Q12, spectral_density with s steps: one Lanczos run at a time in parameter space, with a basis of
  s vectors and no restart (SLQ never stops early on a tolerance): lanczos_bytes(p) at
  max_basis = max_iter = s, plus the operator's leaves and gradient, the start and a product's
  pieces (4 P).
- Adam's preconditioned sharpness (rscbench.measure.sharpness), top_eigenpairs with k = 1: its basis
  of min(max_basis, p) vectors, the image and next blocks and the Ritz vector (3 P), its float64
  projected matrix, and the operator's leaves, gradient, scale, start and product (5 P).
- The optimizers' state: none for sgd, the momentum buffer (P) for momentum, the two moments (2 P)
  for adam.
"""

from __future__ import annotations

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.measure.lanczos import DEFAULT_MAX_ITER, basis_capacity
from rscbench.measure.memory import (
    GRAPH_ACTS,
    HVP_ACTS,
    KernelMemory,
    Sizes,
    hessian_product_terms,
    kernel_memory,
    lanczos_bytes,
)
from rscbench.vocabulary import OPTIMIZERS

__all__ = ["density_bytes", "optimizer_state_vectors", "preconditioned_top_bytes", "trace_bytes"]

_STATE_VECTORS = {"gd": 0, "sgd": 0, "momentum": 1, "adam": 2}


def trace_bytes(sizes: Sizes, products: int) -> KernelMemory:
    """Q11: hutchpp_trace of the loss Hessian with ``products`` products: k p max(16, 3 s) + 4 P + 7 act."""
    require_integer("products", products, 5)
    k = products // 3
    return kernel_memory(
        "loss_hessian_trace",
        [
            (
                k * sizes.parameters,
                max(16, 3 * sizes.itemsize),
                f"p B (the {k}-column sketch's draw or images)",
            ),
            (4, sizes.vector, "P (leaves, gradient, probe, product)"),
            (GRAPH_ACTS + HVP_ACTS, sizes.act(), "act (gradient graph, product temporaries)"),
        ],
    )


def density_bytes(sizes: Sizes, steps: int) -> KernelMemory:
    """Q12: spectral_density of the loss Hessian with ``steps`` Lanczos steps per start."""
    require_integer("steps", steps, 1)
    basis = max(steps, 4)
    return kernel_memory(
        "loss_hessian_density",
        [
            (
                1,
                lanczos_bytes(sizes.parameters, sizes.itemsize, max_basis=basis, max_iter=steps),
                f"Lanczos state ({steps}-vector basis)",
            ),
            *hessian_product_terms(sizes),
        ],
    )


def preconditioned_top_bytes(sizes: Sizes, max_basis: int = DEFAULT_MAX_ITER) -> KernelMemory:
    """Adam's sharpness: top_eigenpairs(k=1) of P^-1/2 H P^-1/2, (min(max_basis, p) + 8) P + T + 7 act."""
    capacity = basis_capacity(max_basis, sizes.parameters)
    return kernel_memory(
        "preconditioned_sharpness",
        [
            (capacity + 3, sizes.vector, "P (block Lanczos basis, image and next blocks, Ritz vector)"),
            (capacity * capacity, 8, "B (float64 projected matrix)"),
            (5, sizes.vector, "P (leaves, gradient, scale, start, product)"),
            (GRAPH_ACTS + HVP_ACTS, sizes.act(), "act (gradient graph, product temporaries)"),
        ],
    )


def optimizer_state_vectors(optimizer: str) -> int:
    """Parameter-sized vectors an optimizer keeps between steps: 0 (gd, sgd), 1 (momentum), 2 (adam)."""
    if optimizer not in OPTIMIZERS:
        raise InvalidArgumentError("optimizer", optimizer, "one of " + ", ".join(OPTIMIZERS))
    return _STATE_VECTORS[optimizer]
