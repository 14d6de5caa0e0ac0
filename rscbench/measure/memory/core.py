"""The memory model's core: estimates and budgets, sizes, the Lanczos state in bytes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rscbench.errors import InvalidArgumentError, RscbenchError, require_integer
from rscbench.measure.lanczos import DEFAULT_MAX_BASIS, DEFAULT_MAX_ITER, basis_capacity, lanczos_vectors
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
    "check_budget",
    "kernel_memory",
    "lanczos_bytes",
    "saved_activation_bytes",
]

GRAPH_ACTS = 4
"""The first-order graph kept for Hessian-vector products, in act: the forward's saved activations
and, per layer, the three n x m tensors its create_graph backward records (measured 2.7-3.7)."""
HVP_ACTS = 3
"""Double-backward temporaries of one Hessian-vector product, in act (measured up to 2.9)."""
TRIDIAGONAL_COPIES = 5
"""c x c float64 matrices one Lanczos problem holds at a step (c its basis capacity): the projected
matrix, its copy at the stop, eigh's input and eigenvectors, a restart's kept columns."""
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

    @property
    def neuron_blocks(self) -> bool:
        """Whether the exact per-neuron kernels apply (the paper's network at depth 1, one output)."""
        return self.structured and self.depth == 1


def lanczos_bytes(
    size: int,
    itemsize: int,
    *,
    max_basis: int = DEFAULT_MAX_BASIS,
    max_iter: int = DEFAULT_MAX_ITER,
    steps: int | None = None,
) -> int:
    """One Lanczos problem's state: lanczos_vectors(size, ...) vectors of ``itemsize`` bytes plus its
    projected-matrix work, TRIDIAGONAL_COPIES c^2 float64 with c = basis_capacity(max_basis, size,
    max_iter). With ``steps`` (the products a run took) the state of that run."""
    capacity = basis_capacity(max_basis, size, max_iter)
    vectors = lanczos_vectors(size, max_basis=max_basis, max_iter=max_iter, steps=steps)
    return vectors * size * itemsize + TRIDIAGONAL_COPIES * capacity * capacity * 8


def kernel_memory(name: str, terms: list[tuple[int, int, str]]) -> KernelMemory:
    """Sum count * unit over ``terms`` (count, unit bytes, what) plus OVERHEAD_BYTES, with its formula."""
    total = OVERHEAD_BYTES + sum(count * unit for count, unit, _ in terms)
    formula = " + ".join(f"{count} {what}" for count, _, what in terms if count) + " + overhead"
    return KernelMemory(name, int(total), formula)
