"""Memory model of every kernel in bytes, and the check that refuses a task that cannot fit, up front.

Sizes (notation of docs/science.md): p parameters, itemsize s bytes (4 for float32, 8 for float64), n rows,
d inputs, width m, depth L, k outputs; P = p s is one parameter-sized vector and ``act`` the bytes a
forward pass saves for its backward (for the paper's network act = n (d + m L + k) s: the input and
every layer's activations, each saved once). Every kernel's peak is counted from the tensors its
code holds at once (see each function), plus OVERHEAD_BYTES for small allocations and BLAS/LAPACK
workspaces:

- Hessian-vector products reusing the gradient graph hold the parameters' leaves and the gradient
  (2 P) and a graph of GRAPH_ACTS act (the forward's saved activations and the create_graph
  backward's); each product adds HVP_ACTS act of double-backward temporaries and two
  parameter-sized pieces, which fit inside Lanczos's working vectors.
- Lanczos holds lanczos_vectors(max_iter, size) vectors (rscbench.measure.lanczos): the basis,
  capped at min(max_iter, size), plus WORK_VECTORS; the caller holds the start vector. Its
  float64 tridiagonal work adds TRIDIAGONAL_COPIES k^2 8 bytes per problem (k its steps), which
  matters only for batches of small problems (the structured per-probe Hessians).

Estimates are bounds for planning: with the step count a run took in place of the cap they
follow its measured peak (tests/measure/test_memory.py; benchmarks/peak_memory.py prints both).
The bytes are device-agnostic; on CUDA the caching allocator may reserve more than it allocates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, RscbenchError, require_integer
from rscbench.measure.lanczos import DEFAULT_MAX_ITER, lanczos_vectors
from rscbench.measure.params import ModelFn, ParamDict, detached_params, model_function
from rscbench.models.paper_net import PaperMLP

__all__ = [
    "GRAPH_ACTS",
    "HVP_ACTS",
    "JACOBIAN_CHUNK_BYTES",
    "OVERHEAD_BYTES",
    "PROBE_BUDGET_BYTES",
    "TRIDIAGONAL_COPIES",
    "KernelMemory",
    "MemoryBudgetError",
    "MemoryEstimate",
    "Sizes",
    "block_norm_bytes",
    "check_budget",
    "gradient_bytes",
    "jacobian_gram_bytes",
    "kernel_memory",
    "lanczos_bytes",
    "lanczos_step_cap",
    "loss_hessian_bytes",
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

GRAPH_ACTS = 4
"""The first-order graph kept for Hessian-vector products, in act: the forward's saved activations
and, per layer, the three n x m tensors its create_graph backward records (measured 2.7-3.7)."""
HVP_ACTS = 3
"""Double-backward temporaries of one Hessian-vector product, in act (measured up to 2.9)."""
TRIDIAGONAL_COPIES = 5
"""k x k float64 matrices one Lanczos problem holds at a step: three diag_embed terms, their sum and
eigh's eigenvectors."""
OVERHEAD_BYTES = 4 * 2**20
"""Per kernel: small tensors, allocator rounding, BLAS and LAPACK workspaces (4 MiB)."""
JACOBIAN_CHUNK_BYTES = 256 * 2**20
"""Default memory for the generic NTK paths' Jacobian rows (rscbench.measure.ntk.JACOBIAN_BUDGET_BYTES)."""
PROBE_BUDGET_BYTES = 1 << 30
"""Default memory for one chunk of predictor-Hessian probes (rscbench.measure.predictor_hessian)."""


class MemoryBudgetError(RscbenchError):
    """A kernel's estimated peak exceeds the memory budget: refused before anything is allocated.

    ``kernel`` names the kernel that does not fit, ``estimate_bytes`` its estimated peak (with what
    the task holds around it), ``budget_bytes`` the budget, ``estimate`` the whole MemoryEstimate
    when a task was checked (None for a single kernel).
    """

    def __init__(
        self, kernel: str, estimate_bytes: int, budget_bytes: int, estimate: MemoryEstimate | None = None
    ) -> None:
        self.kernel, self.estimate_bytes, self.budget_bytes = kernel, estimate_bytes, budget_bytes
        self.estimate = estimate
        formula = f" ({estimate.kernel(kernel).formula})" if estimate is not None else ""
        super().__init__(
            f"memory: {kernel} needs an estimated {_mib(estimate_bytes)}{formula}, "
            f"more than the budget of {_mib(budget_bytes)}"
        )


def _mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


@dataclass(frozen=True)
class KernelMemory:
    """One kernel's estimated peak in bytes (``bytes``) and the count it comes from (``formula``)."""

    name: str
    bytes: int
    formula: str


@dataclass(frozen=True)
class MemoryEstimate:
    """A task's estimated peak: what it holds throughout (``baseline_bytes``) plus its largest kernel.

    Kernels run one after another, so ``total_bytes`` = baseline + max over ``kernels``. Bytes.
    """

    baseline_bytes: int
    kernels: tuple[KernelMemory, ...]

    @property
    def largest(self) -> KernelMemory:
        """The kernel with the largest peak."""
        return max(self.kernels, key=lambda kernel: kernel.bytes)

    @property
    def total_bytes(self) -> int:
        """Estimated peak of the task in bytes."""
        return self.baseline_bytes + self.largest.bytes

    def kernel(self, name: str) -> KernelMemory:
        """The kernel called ``name``."""
        for kernel in self.kernels:
            if kernel.name == name:
                return kernel
        raise InvalidArgumentError("kernel", name, "one of " + ", ".join(k.name for k in self.kernels))

    def breakdown(self) -> dict[str, int]:
        """Bytes per kernel (each with the baseline added), and the baseline itself."""
        return {"baseline": self.baseline_bytes} | {
            kernel.name: self.baseline_bytes + kernel.bytes for kernel in self.kernels
        }


def check_budget(estimate: MemoryEstimate, budget_bytes: int) -> None:
    """Raise MemoryBudgetError naming the largest kernel when ``estimate`` exceeds ``budget_bytes``."""
    require_integer("budget_bytes", budget_bytes, 0)
    if estimate.total_bytes > budget_bytes:
        raise MemoryBudgetError(estimate.largest.name, estimate.total_bytes, budget_bytes, estimate)


def lanczos_step_cap(budget_bytes: int, size: int, itemsize: int, *, batch: int = 1) -> int:
    """The largest max_iter whose Lanczos state fits ``budget_bytes``: pass it as lanczos's max_iter.

    The state of ``batch`` problems of length ``size`` is batch (lanczos_bytes(max_iter, size) + one
    start vector) bytes. Raises MemoryBudgetError when not even one step fits. Fewer steps may stop
    a run unconverged; the result says so.
    """

    def need(steps: int) -> int:
        return batch * (lanczos_bytes(steps, size, itemsize) + size * itemsize)

    if need(1) > budget_bytes:
        raise MemoryBudgetError("lanczos", need(1), budget_bytes)
    low, high = 1, size
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if need(middle) <= budget_bytes else (low, middle - 1)
    return low


@contextmanager
def _counting_saved(total: list[int], exclude: set[int]) -> Iterator[None]:
    seen: set[int] = set()

    def pack(tensor: Tensor) -> Tensor:
        pointer = tensor.untyped_storage().data_ptr()
        if pointer not in exclude and pointer not in seen:
            seen.add(pointer)
            total[0] += tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield


def saved_activation_bytes(model_fn: ModelFn, params: ParamDict, X: Tensor) -> int:
    """Bytes one forward of f(params, X) saves for its backward: the ``act`` of any model.

    Runs the forward once with gradients on and counts each saved storage once, leaving out the
    parameters and X (held anyway). Bytes for all rows of X.
    """
    leaves = {name: value.detach().requires_grad_(True) for name, value in params.items()}
    exclude = {value.untyped_storage().data_ptr() for value in params.values()}
    exclude.add(X.untyped_storage().data_ptr())
    total = [0]
    with torch.enable_grad(), _counting_saved(total, exclude):
        model_fn(leaves, X)
    return total[0]


@dataclass(frozen=True)
class Sizes:
    """The sizes that decide a task's memory: n rows, p parameters, act per row, itemsize s.

    ``width``/``depth``/``d`` are set for the paper's network (PaperMLP with one output), whose
    structured kernels they size; None for any other model. Build with ``paper`` (from the spec's
    numbers, before any model exists) or ``of_model`` (from a built model).
    """

    n: int
    parameters: int
    row_act_bytes: int
    itemsize: int
    width: int | None = None
    depth: int | None = None
    d: int | None = None

    @classmethod
    def paper(cls, n: int, d: int, width: int, depth: int, out_dim: int = 1, itemsize: int = 4) -> Sizes:
        """The paper's network: p = m d + (L - 1) m^2 + m k, act per row (d + m L + k) s."""
        for name, value in (("n", n), ("d", d), ("width", width), ("depth", depth), ("out_dim", out_dim)):
            require_integer(name, value, 1)
        parameters = width * d + (depth - 1) * width * width + width * out_dim
        row_act = (d + width * depth + out_dim) * itemsize
        structured = out_dim == 1
        return cls(
            n,
            parameters,
            row_act,
            itemsize,
            width if structured else None,
            depth if structured else None,
            d if structured else None,
        )

    @classmethod
    def of_model(cls, model: nn.Module, X: Tensor) -> Sizes:
        """A built model on the data X (n rows): the paper's formula for a PaperMLP, else p counted
        and act measured by saved_activation_bytes on one row."""
        itemsize = X.dtype.itemsize
        if isinstance(model, PaperMLP):
            return cls.paper(X.shape[0], model.in_dim, model.width, model.depth, model.out_dim, itemsize)
        params = detached_params(model)
        row_act = saved_activation_bytes(model_function(model), params, X[:1])
        return cls(X.shape[0], sum(value.numel() for value in params.values()), row_act, itemsize)

    @property
    def vector(self) -> int:
        """P: bytes of one parameter-sized vector."""
        return self.parameters * self.itemsize

    def act(self, rows: int | None = None) -> int:
        """Bytes the forward of ``rows`` rows (default n) saves for its backward."""
        return (self.n if rows is None else rows) * self.row_act_bytes

    @property
    def structured(self) -> bool:
        """Whether the paper network's structured kernels apply."""
        return self.width is not None


def structured_dim(width: int, depth: int) -> int:
    """Size of one probe's structured predictor-Hessian space: 2 L m."""
    return 2 * depth * width


def lanczos_bytes(max_iter: int, size: int, itemsize: int) -> int:
    """One Lanczos problem's state at the cap: lanczos_vectors(max_iter, size) vectors of ``itemsize``
    bytes plus its tridiagonal work, TRIDIAGONAL_COPIES k^2 float64 with k = min(max_iter, size)."""
    steps = min(max_iter, size)
    return lanczos_vectors(max_iter, size) * size * itemsize + TRIDIAGONAL_COPIES * steps * steps * 8


def kernel_memory(name: str, terms: list[tuple[int, int, str]]) -> KernelMemory:
    """Sum count * unit over ``terms`` (count, unit bytes, what) plus OVERHEAD_BYTES, with its formula."""
    total = OVERHEAD_BYTES + sum(count * unit for count, unit, _ in terms)
    formula = " + ".join(f"{count} {what}" for count, _, what in terms if count) + " + overhead"
    return KernelMemory(name, int(total), formula)


def loss_hessian_bytes(sizes: Sizes, max_iter: int = DEFAULT_MAX_ITER) -> KernelMemory:
    """hessian_extremes of the loss (Q3, GD's beta): lanczos_bytes(max_iter, p) + 4 P + 7 act.

    The 4: the leaves and the gradient of the kept graph, the start vector, and one for a
    product's layer-sized double-backward temporaries beside its pieces and their concatenation
    (at width 2048 the peak exceeded the count without it by 0.2 P). 7 act = GRAPH_ACTS + HVP_ACTS.
    """
    return kernel_memory(
        "loss_hessian",
        [
            (1, lanczos_bytes(max_iter, sizes.parameters, sizes.itemsize), "Lanczos state"),
            (4, sizes.vector, "P (leaves, gradient, start, product temporaries)"),
            (GRAPH_ACTS + HVP_ACTS, sizes.act(), "act (gradient graph, product temporaries)"),
        ],
    )


def predictor_probe_bytes(
    strategy: str, *, size: int, itemsize: int, row_act_bytes: int, max_iter: int = DEFAULT_MAX_ITER
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
    return lanczos_bytes(max_iter, size, itemsize) + vectors * size * itemsize + acts * row_act_bytes


def predictor_hessian_bytes(
    sizes: Sizes,
    probes: int,
    *,
    strategy: str = "structured",
    budget_bytes: int = PROBE_BUDGET_BYTES,
    max_iter: int = DEFAULT_MAX_ITER,
) -> KernelMemory:
    """Q1: predictor_hessian_spectra on ``probes`` probes, chunked to fit ``budget_bytes`` as it does."""
    size = structured_dim(sizes.width, sizes.depth) if strategy == "structured" else sizes.parameters
    per_probe = predictor_probe_bytes(
        strategy, size=size, itemsize=sizes.itemsize, row_act_bytes=sizes.row_act_bytes, max_iter=max_iter
    )
    batch = 1 if strategy == "loop" else min(probes, max(1, budget_bytes // per_probe))
    return kernel_memory("predictor_hessian", [(batch, per_probe, f"probe ({strategy})")])


def block_norm_bytes(sizes: Sizes, max_iter: int = DEFAULT_MAX_ITER) -> KernelMemory:
    """Q2: hessian_block_norm on one probe, its largest block b (v-W^(L): m^2 + m, or W^(1): m d).

    lanczos_bytes(max_iter, b), 3 b s and 16 b (int64 indices), plus 5 P (leaves, gradient,
    the embedded vector and the product's two pieces) and 7 row act.
    """
    m, d = sizes.width, sizes.d
    block = max(m * d, m * m + m) if sizes.depth > 1 else m * d + m
    return kernel_memory(
        "block_norms",
        [
            (1, lanczos_bytes(max_iter, block, sizes.itemsize), "block Lanczos state"),
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


def rsc_bytes(sizes: Sizes, max_iter: int = DEFAULT_MAX_ITER) -> KernelMemory:
    """Q6: rsc_certificate, lanczos_bytes(max_iter, p) + 9 P + 8 act.

    Its largest phase is the Lanczos on H for lambda_min(H): g_bar, leaves and gradient, the axis,
    H u_g, b and the upper bound's candidate, the start, a product's temporaries (as in
    loss_hessian_bytes) and the Lanczos state; the last phase
    (lambda_min(R)) holds fewer vectors but one more act (the outputs' linearization).
    """
    return kernel_memory(
        "rsc_certificate",
        [
            (1, lanczos_bytes(max_iter, sizes.parameters, sizes.itemsize), "Lanczos state"),
            (9, sizes.vector, "P (g_bar, leaves, gradient, axis, H u_g, b, candidate, start, product)"),
            (GRAPH_ACTS + HVP_ACTS + 1, sizes.act(), "act (graph, temporaries, linearization)"),
        ],
    )


def secant_bytes(sizes: Sizes) -> KernelMemory:
    """Q7: secant_check, 11 P (direction, theta, gradient, axis, a float64 draw and its updates) + 4 act."""
    return kernel_memory("secant", [(11, sizes.vector, "P"), (GRAPH_ACTS, sizes.act(), "act")])
