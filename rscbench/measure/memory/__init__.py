"""Memory model of every kernel in bytes, and the check that refuses a task that cannot fit, up front.

Sizes (notation of docs/science.md): p parameters, itemsize s bytes (4 for float32, 8 for float64), n rows,
d inputs, width m, depth L, k outputs; P = p s is one parameter-sized vector and ``act`` the bytes a
forward pass saves for its backward (for the paper's network act = n (d + m L + k) s: the input and
every layer's activations, each saved once). Every kernel's peak is counted from the tensors its
code holds at once (see each function in ``kernels``), plus OVERHEAD_BYTES for small allocations
and BLAS/LAPACK workspaces:

- Hessian-vector products reusing the gradient graph hold the parameters' leaves and the gradient
  (2 P) and a graph of GRAPH_ACTS act (the forward's saved activations and the create_graph
  backward's); each product adds HVP_ACTS act of double-backward temporaries and two
  parameter-sized pieces, which fit inside Lanczos's working vectors.
- Lanczos holds lanczos_vectors(size, ...) vectors (rscbench.measure.lanczos): a basis of at most
  DEFAULT_MAX_BASIS vectors, the vectors a thick restart keeps while it runs, and WORK_VECTORS;
  the caller holds the start vector. Its float64 projected-matrix work adds TRIDIAGONAL_COPIES
  c^2 8 bytes per problem (c its basis capacity), which matters only for batches of small problems.
- The loss-Hessian kernels of the paper's network (Q3, Q6, GD's beta) run in the structured
  subspace S where it is preferred (kernels.loss_subspace): their vectors have dim S ~ 2 n L m + m
  coordinates instead of p, and no parameter-sized vector is held.

Estimates are bounds for planning: with the step count a run took in place of the cap they
follow its measured peak (tests/measure/test_memory.py; benchmarks/peak_memory.py prints both).
The bytes are device-agnostic; on CUDA the caching allocator may reserve more than it allocates.
"""

from rscbench.measure.memory.core import (
    GRAPH_ACTS,
    HVP_ACTS,
    JACOBIAN_CHUNK_BYTES,
    OVERHEAD_BYTES,
    PROBE_BUDGET_BYTES,
    TRIDIAGONAL_COPIES,
    KernelMemory,
    MemoryBudgetError,
    MemoryEstimate,
    Sizes,
    check_budget,
    kernel_memory,
    lanczos_bytes,
    saved_activation_bytes,
)
from rscbench.measure.memory.kernels import (
    SUBSPACE_ACTS,
    SUBSPACE_HESSIAN_VECTORS,
    SUBSPACE_RSC_VECTORS,
    block_norm_bytes,
    gradient_bytes,
    hessian_product_terms,
    jacobian_gram_bytes,
    loss_hessian_bytes,
    loss_subspace,
    ntk_bytes,
    predictor_hessian_bytes,
    predictor_probe_bytes,
    products_gram_bytes,
    rsc_bytes,
    secant_bytes,
    structured_dim,
    structured_gram_bytes,
)
from rscbench.measure.memory.neurons import (
    NEURON_CERTIFICATE_VECTORS,
    NEURON_CHUNK_BYTES,
    NEURON_PREDICTOR_ARRAYS,
    neuron_certificate_bytes,
    neuron_predictor_bytes,
    neurons_per_chunk,
)

__all__ = [
    "GRAPH_ACTS",
    "HVP_ACTS",
    "JACOBIAN_CHUNK_BYTES",
    "NEURON_CERTIFICATE_VECTORS",
    "NEURON_CHUNK_BYTES",
    "NEURON_PREDICTOR_ARRAYS",
    "OVERHEAD_BYTES",
    "PROBE_BUDGET_BYTES",
    "SUBSPACE_ACTS",
    "SUBSPACE_HESSIAN_VECTORS",
    "SUBSPACE_RSC_VECTORS",
    "TRIDIAGONAL_COPIES",
    "KernelMemory",
    "MemoryBudgetError",
    "MemoryEstimate",
    "Sizes",
    "block_norm_bytes",
    "check_budget",
    "gradient_bytes",
    "hessian_product_terms",
    "jacobian_gram_bytes",
    "kernel_memory",
    "lanczos_bytes",
    "loss_hessian_bytes",
    "loss_subspace",
    "neuron_certificate_bytes",
    "neuron_predictor_bytes",
    "neurons_per_chunk",
    "ntk_bytes",
    "predictor_hessian_bytes",
    "predictor_probe_bytes",
    "products_gram_bytes",
    "rsc_bytes",
    "saved_activation_bytes",
    "secant_bytes",
    "structured_dim",
    "structured_gram_bytes",
]
