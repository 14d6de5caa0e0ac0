"""Each kernel's peak memory in bytes, counted from the tensors its code holds at once."""

from __future__ import annotations

from rscbench.errors import InvalidArgumentError
from rscbench.measure.lanczos import DEFAULT_MAX_ITER
from rscbench.measure.memory.core import (
    GRAPH_ACTS,
    HVP_ACTS,
    JACOBIAN_CHUNK_BYTES,
    PROBE_BUDGET_BYTES,
    KernelMemory,
    Sizes,
    kernel_memory,
    lanczos_bytes,
)
from rscbench.measure.memory.neurons import neuron_certificate_bytes, neuron_predictor_bytes
from rscbench.measure.structured import SubspaceDims, loss_subspace_dims

__all__ = [
    "SUBSPACE_ACTS",
    "SUBSPACE_HESSIAN_VECTORS",
    "SUBSPACE_RSC_VECTORS",
    "block_norm_bytes",
    "gradient_bytes",
    "jacobian_gram_bytes",
    "loss_hessian_bytes",
    "loss_subspace",
    "ntk_bytes",
    "predictor_hessian_bytes",
    "predictor_probe_bytes",
    "products_gram_bytes",
    "rsc_bytes",
    "secant_bytes",
    "structured_dim",
    "structured_gram_bytes",
]

SUBSPACE_ACTS = 8
"""What the structured subspace holds in act while a kernel runs: per layer phi'(z), the loss's
backpropagated signal, its phi'' term and the mean output's (4 n m), a product's forward tangents of
z and h (2 n m) and its backward signals (2 n m). Measured: see tests/measure/test_memory.py."""
SUBSPACE_HESSIAN_VECTORS = 5
"""Coordinate vectors of S a loss-Hessian Lanczos run holds besides its state (start, a product's
projected input, output pieces and their concatenation)."""
SUBSPACE_RSC_VECTORS = 9
"""Coordinate vectors of S rsc_certificate holds besides its state (the axis, P H u_g, the second
start, the candidate and its product, a product's)."""


def structured_dim(width: int, depth: int) -> int:
    """Size of one probe's structured predictor-Hessian space: 2 L m."""
    return 2 * depth * width


def loss_subspace(sizes: Sizes) -> SubspaceDims | None:
    """The structured subspace's sizes where the loss-Hessian kernels work in it (space "auto"), else None."""
    if not sizes.structured:
        return None
    dims = loss_subspace_dims(sizes.n, sizes.d, sizes.width, sizes.depth)
    return dims if dims.preferred else None


def _subspace_terms(sizes: Sizes, dims: SubspaceDims, steps: int | None, vectors: int) -> list:
    """What a kernel in the structured subspace holds: Lanczos state, ``vectors`` coordinate vectors,
    SUBSPACE_ACTS act (cached signals and product tangents) and the bases (U, D and their n x r
    coordinates, per layer (fan-in + m + 2 n) r s)."""
    s, n, m = sizes.itemsize, sizes.n, sizes.width
    r = min(n, m)
    bases = (sizes.d + 2 * n) * min(n, sizes.d) + (sizes.depth - 1) * (2 * m + 2 * n) * r
    size = dims.coordinates
    return [
        (1, lanczos_bytes(size, s, steps=steps), "Lanczos state in S"),
        (vectors, size * s, f"vectors of S ({size} coordinates)"),
        (SUBSPACE_ACTS, sizes.act(), "act (cached signals, product tangents)"),
        (bases, s, "B (bases of S)"),
    ]


def loss_hessian_bytes(sizes: Sizes, steps: int | None = None) -> KernelMemory:
    """Q3 and GD's beta (loss_hessian_extremes), in the space it runs in.

    In S (loss_subspace): its Lanczos state and SUBSPACE_HESSIAN_VECTORS coordinate vectors (the
    start, a product's projected input, output pieces and their concatenation) beside the cached
    signals. In parameter space: lanczos_bytes(p) + 4 P (the leaves and the gradient of the kept
    graph, the start vector, and one for a product's layer-sized double-backward temporaries
    beside its pieces and their concatenation; at width 2048 the peak exceeded the count without
    it by 0.2 P) + 7 act (GRAPH_ACTS + HVP_ACTS). ``steps``: the products a run took (None: the caps).
    """
    dims = loss_subspace(sizes)
    if dims is not None:
        return kernel_memory("loss_hessian", _subspace_terms(sizes, dims, steps, SUBSPACE_HESSIAN_VECTORS))
    state = (1, lanczos_bytes(sizes.parameters, sizes.itemsize, steps=steps), "Lanczos state")
    return kernel_memory("loss_hessian", [state, *hessian_product_terms(sizes)])


def hessian_product_terms(sizes: Sizes) -> list[tuple[int, int, str]]:
    """What a Lanczos run on the loss Hessian in parameter space holds beside its Lanczos state:
    4 P (the leaves and the gradient of the kept graph, the start vector, a product's
    temporaries) + GRAPH_ACTS + HVP_ACTS act."""
    return [
        (4, sizes.vector, "P (leaves, gradient, start, product temporaries)"),
        (GRAPH_ACTS + HVP_ACTS, sizes.act(), "act (gradient graph, product temporaries)"),
    ]


def predictor_probe_bytes(
    strategy: str,
    *,
    size: int,
    itemsize: int,
    row_act_bytes: int,
    max_iter: int = DEFAULT_MAX_ITER,
    steps: int | None = None,
) -> int:
    """Peak bytes one probe adds to a chunk of predictor_hessian_spectra (its Lanczos problem and graph).

    ``size`` is the space Lanczos runs in (structured_dim for "structured", p otherwise) and
    ``row_act_bytes`` the act of one row. Per probe, in vectors of ``size``:

    Each adds lanczos_bytes (basis, work vectors, tridiagonal work) to:

    - "structured": 24 vectors: the start, the reduced coordinates' leaf and gradient, the
      unit activations and backpropagated vectors (4), and the reduced function's create_graph
      graph and product temporaries, about ten 1 x m tensors per layer each way (20; measured 20.7
      at m = 512, L = 3).
    - "loop": 3 vectors plus (GRAPH_ACTS + HVP_ACTS) row_act, hessian_extremes on one row.
    - "vmap": 4 vectors (start, and forward-over-reverse's gradient, its tangent and the
      flattened product, batched over the chunk) plus 6 row_act (primal and tangent activations).
    """
    counts = {"structured": (24, 0), "loop": (3, GRAPH_ACTS + HVP_ACTS), "vmap": (4, 6)}
    if strategy not in counts:
        raise InvalidArgumentError("strategy", strategy, "one of " + ", ".join(counts))
    vectors, acts = counts[strategy]
    state = lanczos_bytes(size, itemsize, max_iter=max_iter, steps=steps)
    return state + vectors * size * itemsize + acts * row_act_bytes


def predictor_hessian_bytes(
    sizes: Sizes,
    probes: int,
    *,
    strategy: str = "structured",
    budget_bytes: int = PROBE_BUDGET_BYTES,
    max_iter: int = DEFAULT_MAX_ITER,
    steps: int | None = None,
) -> KernelMemory:
    """Q1: predictor_hessian_spectra on ``probes`` probes, chunked to fit ``budget_bytes`` as it does
    (chunks are sized at the caps; ``steps`` gives a run's own state); strategy "neuron_blocks" is
    the exact depth-1 path (neuron_predictor_bytes)."""
    if strategy == "neuron_blocks":
        return neuron_predictor_bytes(sizes, probes)
    size = structured_dim(sizes.width, sizes.depth) if strategy == "structured" else sizes.parameters
    sized = {
        "size": size,
        "itemsize": sizes.itemsize,
        "row_act_bytes": sizes.row_act_bytes,
        "max_iter": max_iter,
    }
    per_probe = predictor_probe_bytes(strategy, **sized)
    batch = 1 if strategy == "loop" else min(probes, max(1, budget_bytes // per_probe))
    held = predictor_probe_bytes(strategy, steps=steps, **sized)
    return kernel_memory("predictor_hessian", [(batch, held, f"probe ({strategy})")])


def block_norm_bytes(sizes: Sizes, steps: int | None = None) -> KernelMemory:
    """Q2: hessian_block_norm on one probe, its largest block b (v-W^(L): m^2 + m, or W^(1): m d).

    lanczos_bytes(b), 3 b s and 16 b (int64 indices), plus 5 P (leaves, gradient,
    the embedded vector and the product's two pieces) and 7 row act.
    """
    m, d = sizes.width, sizes.d
    block = max(m * d, m * m + m) if sizes.depth > 1 else m * d + m
    return kernel_memory(
        "block_norms",
        [
            (1, lanczos_bytes(block, sizes.itemsize, steps=steps), "block Lanczos state"),
            (3 * sizes.itemsize + 16, block, "b (block vectors, int64 indices)"),
            (5, sizes.vector, "P (leaves, gradient, embedded vector, product)"),
            (GRAPH_ACTS + HVP_ACTS, sizes.act(1), "row act"),
        ],
    )


def gradient_bytes(sizes: Sizes) -> KernelMemory:
    """Q4: the average predictor gradient and per-sample gradient norms: 2 P + 3 act."""
    return kernel_memory("gradients", [(2, sizes.vector, "P (leaves, gradient)"), (3, sizes.act(), "act")])


def structured_gram_bytes(n: int, row_act_bytes: int, itemsize: int) -> int:
    """The layer-wise NTK Gram: activations, pre-activations and backpropagated vectors (3 act) and
    the n x n Gram with its per-layer products (6 n^2 s). Bytes."""
    return 3 * n * row_act_bytes + 6 * n * n * itemsize


def jacobian_gram_bytes(n: int, chunk: int, vector_bytes: int, row_act_bytes: int, itemsize: int) -> int:
    """ntk_gram_of(method="jacobian") with ``chunk`` C: rows (P + 2 row_act) for the Jacobian rows held
    (n if n <= C, else max(C, 2)), plus the Gram and its symmetrization (3 n^2 s). Bytes."""
    rows = n if n <= chunk else max(chunk, 2)
    return rows * (vector_bytes + 2 * row_act_bytes) + 3 * n * n * itemsize


def products_gram_bytes(n: int, chunk: int, vector_bytes: int, row_act_bytes: int, itemsize: int) -> int:
    """ntk_gram_of(method="products") with ``chunk`` C: the linearization at X and the jvp's primal
    (2 n row_act), per column a vjp result and the tangents of all n rows (C (P + 2 n row_act)), and
    the Gram (3 n^2 s). Bytes."""
    columns = min(n, chunk)
    return 2 * n * row_act_bytes + columns * (vector_bytes + 2 * n * row_act_bytes) + 3 * n * n * itemsize


def ntk_bytes(sizes: Sizes) -> KernelMemory:
    """Q10: the Gram (structured, or for any other model the larger generic path at the default
    chunk), then its float64 spectrum (eigvalsh copies and workspace: 4 n^2 8 B)."""
    n, s = sizes.n, sizes.itemsize
    if sizes.structured:
        gram, what = structured_gram_bytes(n, sizes.row_act_bytes, s), "structured Gram"
    else:
        chunk = max(1, JACOBIAN_CHUNK_BYTES // sizes.vector)
        gram = max(
            jacobian_gram_bytes(n, chunk, sizes.vector, sizes.row_act_bytes, s),
            products_gram_bytes(n, chunk, sizes.vector, sizes.row_act_bytes, s),
        )
        what = f"generic Gram (chunk {chunk})"
    return kernel_memory("ntk", [(1, gram, what), (4 * n * n, 8, "B (float64 spectrum)")])


def rsc_bytes(sizes: Sizes, steps: int | None = None) -> KernelMemory:
    """Q6: rsc_certificate, in the space it runs in (one Krylov basis at a time).

    In S: the Lanczos state and SUBSPACE_RSC_VECTORS coordinate vectors (the axis, P H u_g, the
    second start, the upper bound's candidate and its product, and a product's temporaries)
    beside the cached signals. In parameter space: lanczos_bytes(p) + 9 P (g_bar, leaves and
    gradient, the axis, P H u_g, the start, the candidate, a product's temporaries, and the
    Gauss-Newton product's pieces in the lambda_min(R) phase) + 8 act (graph, temporaries, the
    outputs' linearization). At depth 1 the exact per-neuron path (neuron_certificate_bytes).
    """
    if sizes.neuron_blocks:
        return neuron_certificate_bytes(sizes)
    dims = loss_subspace(sizes)
    if dims is not None:
        return kernel_memory("rsc_certificate", _subspace_terms(sizes, dims, steps, SUBSPACE_RSC_VECTORS))
    return kernel_memory(
        "rsc_certificate",
        [
            (1, lanczos_bytes(sizes.parameters, sizes.itemsize, steps=steps), "Lanczos state"),
            (9, sizes.vector, "P (g_bar, leaves, gradient, axis, b, start, candidate, products)"),
            (GRAPH_ACTS + HVP_ACTS + 1, sizes.act(), "act (graph, temporaries, linearization)"),
        ],
    )


def secant_bytes(sizes: Sizes) -> KernelMemory:
    """Q7: secant_check, 11 P (direction, theta, gradient, axis, a float64 draw and its updates) + 4 act."""
    return kernel_memory("secant", [(11, sizes.vector, "P"), (GRAPH_ACTS, sizes.act(), "act")])
