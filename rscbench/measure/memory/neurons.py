"""Memory of the exact per-neuron kernels of the depth-1 network (rscbench.measure.neuron_blocks).

Every pass runs over chunks of neurons, so a kernel holds a fixed number of parameter-sized float64
vectors (the network's (m, d + 1) block coordinates) plus one chunk's work, whatever the width.
"""

from __future__ import annotations

from rscbench.measure.memory.core import KernelMemory, Sizes, kernel_memory

__all__ = [
    "NEURON_CERTIFICATE_VECTORS",
    "NEURON_CHUNK_BYTES",
    "NEURON_PREDICTOR_ARRAYS",
    "neuron_certificate_bytes",
    "neuron_predictor_bytes",
    "neurons_per_chunk",
]

NEURON_CHUNK_BYTES = 64 * 2**20
"""Memory the float64 work of one chunk of neurons may take (features, blocks, their eigenvalues)."""
NEURON_CERTIFICATE_VECTORS = 8
"""Parameter-sized float64 vectors neuron_block_parts holds at its peak: the float64 copy of W and
v, u_g, e, H u_g, H e, b = P H u_g and H b (7; every product is written in place), plus one for
the float64 temporaries of a pass. Measured: 7.16 p-vectors of peak RSS above the model at width
2^20, n = 64, d = 16 (docs/kernels.md)."""
NEURON_PREDICTOR_ARRAYS = 16
"""Float64 (probes, chunk) arrays neuron_predictor_extremes holds at its peak: the pre-activations,
phi and its two derivatives, a, b, the radius, both roots and their temporaries. Measured: 13.9 to
14.2 (peak RSS above the model less the float64 copy of W and v) at widths 2^16 to 2^20 with 16
and 64 probes, d = 16 (benchmarks/peak_memory.py --depth 1)."""


def _neuron_bytes(n: int, d: int) -> int:
    """Float64 bytes of one neuron's work in a chunk: 8 n for the features and their autograd
    temporaries, 4 (d + 1)^2 for its block and copies."""
    return 8 * (8 * n + 4 * (d + 1) ** 2)


def neurons_per_chunk(n: int, d: int) -> int:
    """Neurons per chunk for n inputs of dimension d: NEURON_CHUNK_BYTES over one neuron's work."""
    return max(1, NEURON_CHUNK_BYTES // _neuron_bytes(n, d))


def _chunk_neurons(sizes: Sizes, rows: int) -> int:
    """Neurons in the widest chunk of a pass over ``rows`` inputs: the chunk, or the width if smaller."""
    return min(sizes.width, neurons_per_chunk(rows, sizes.d))


def neuron_certificate_bytes(sizes: Sizes) -> KernelMemory:
    """Q6 on the per-neuron path: NEURON_CERTIFICATE_VECTORS float64 vectors of p, the float64
    inputs (n d) and one chunk of neuron work (at most NEURON_CHUNK_BYTES)."""
    n, d = sizes.n, sizes.d
    chunk = _chunk_neurons(sizes, n) * _neuron_bytes(n, d)
    return kernel_memory(
        "rsc_certificate",
        [
            (NEURON_CERTIFICATE_VECTORS, sizes.parameters * 8, "p 8 B (float64 vectors)"),
            (1, chunk + n * d * 8, "neuron chunk and inputs (float64)"),
        ],
    )


def neuron_predictor_bytes(sizes: Sizes, probes: int) -> KernelMemory:
    """Q1 on the per-neuron path: the float64 copy of W and v (p) and NEURON_PREDICTOR_ARRAYS
    float64 arrays of (probes, neurons of one chunk)."""
    rows = _chunk_neurons(sizes, probes) * probes * 8
    return kernel_memory(
        "predictor_hessian",
        [
            (1, sizes.parameters * 8, "p 8 B (float64 W and v)"),
            (NEURON_PREDICTOR_ARRAYS, rows, "probes x chunk (float64 per-neuron arrays)"),
        ],
    )
