"""A task's peak memory, estimated from its spec before anything is allocated (per kernel, in bytes).

The kernels' own byte counts live in rscbench.measure.memory; this module adds up the kernels one
task runs (the snapshot's quantities, then gradient descent) around what the task holds throughout.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rscbench.data import Dataset, DataShape
from rscbench.measure.estimator_memory import (
    density_bytes,
    optimizer_state_vectors,
    preconditioned_top_bytes,
    trace_bytes,
)
from rscbench.measure.memory import (
    KernelMemory,
    MemoryEstimate,
    Sizes,
    block_norm_bytes,
    gradient_bytes,
    kernel_memory,
    loss_hessian_bytes,
    ntk_bytes,
    predictor_hessian_bytes,
    rsc_bytes,
    secant_bytes,
)
from rscbench.run.builders import TORCH_DTYPES, build_task_model, task_data_shape
from rscbench.run.specs import TaskSpec

__all__ = ["GD_CHECKPOINT_QUANTITIES", "estimate_memory", "estimate_task_memory", "task_memory_estimate"]


def _snapshot_kernels(
    sizes: Sizes, quantities: set[str], spec: TaskSpec, probes: int, strategy: str
) -> list[KernelMemory]:
    """The kernels measure_snapshot runs for ``quantities`` (rscbench.measure.snapshot)."""
    loss, protocol = spec.loss, spec.protocol
    kernels = [kernel_memory("loss", [(2, sizes.act(), "act")])]
    if "Q3" in quantities:
        kernels.append(loss_hessian_bytes(sizes))
    if "Q11" in quantities:
        kernels.append(trace_bytes(sizes, protocol.trace_products))
    if "Q12" in quantities:
        kernels.append(density_bytes(sizes, protocol.density_steps))
    if loss == "cross_entropy":
        return kernels
    theorem = "Q8" in quantities and loss == "square" and sizes.structured
    builders: list[tuple[bool, Callable[[], KernelMemory]]] = [
        (
            "Q1" in quantities or theorem,
            lambda: predictor_hessian_bytes(sizes, probes, strategy=strategy),
        ),
        ("Q2" in quantities and sizes.structured, lambda: block_norm_bytes(sizes)),
        (bool(quantities & {"Q4", "Q10"}) or theorem, lambda: gradient_bytes(sizes)),
        ("Q10" in quantities, lambda: ntk_bytes(sizes)),
        ("Q6" in quantities or theorem, lambda: rsc_bytes(sizes)),
        ("Q7" in quantities, lambda: secant_bytes(sizes)),
    ]
    return kernels + [build() for wanted, build in builders if wanted]


GD_CHECKPOINT_QUANTITIES = {"Q1", "Q4", "Q6", "Q8", "Q10"}
"""What rscbench.measure.gd measures at each checkpoint."""


def estimate_task_memory(spec: TaskSpec, sizes: Sizes, *, data_bytes: int = 0) -> MemoryEstimate:
    """Estimated peak bytes of rscbench.run.task.measure_task(spec) for the model and data ``sizes``.

    The baseline is the model (P) and ``data_bytes`` (the loaded data and its copy in the task's
    dtype); the kernels are those measure_snapshot runs for the protocol's quantities, each with a
    full Lanczos basis (the worst case: fewer steps hold less) in the space it runs in (the
    structured subspace for the paper network's loss Hessian where preferred), Q1 with the strategy
    "auto" picks (neuron_blocks for the paper's network at depth 1, structured at depth >= 2, else
    loop on the CPU and vmap on CUDA; Q6 likewise on the per-neuron path at depth 1), Q11
    and Q12 at their products and steps (rscbench.measure.estimator_memory), and, when
    gd_steps > 0, training: its copy of the parameters, theta_0, the gradient, the initial NTK Gram
    and the optimizer's state (3 P + n^2 s, plus P for momentum or 2 P for adam) around its largest
    checkpoint kernel, beta re-measurement or (adam) preconditioned sharpness.
    """
    protocol = spec.protocol
    probes = min(protocol.probes, sizes.n)
    strategy = (
        "neuron_blocks"
        if sizes.neuron_blocks
        else "structured"
        if sizes.structured
        else ("vmap" if spec.device == "cuda" else "loop")
    )
    kernels = _snapshot_kernels(sizes, set(protocol.quantities), spec, probes, strategy)
    if protocol.gd_steps > 0:
        inner = _snapshot_kernels(sizes, GD_CHECKPOINT_QUANTITIES, spec, probes, strategy)
        inner.append(loss_hessian_bytes(sizes))
        if protocol.optimizer == "adam":
            inner.append(preconditioned_top_bytes(sizes))
        largest = max(inner, key=lambda kernel: kernel.bytes)
        state = optimizer_state_vectors(protocol.optimizer)
        name = "gradient_descent" if protocol.optimizer == "gd" else f"training ({protocol.optimizer})"
        kernels.append(
            KernelMemory(
                name,
                (3 + state) * sizes.vector + sizes.n * sizes.n * sizes.itemsize + largest.bytes,
                f"{3 + state} P + n^2 s (training state) + {largest.name} ({largest.formula})",
            )
        )
    return MemoryEstimate(sizes.vector + data_bytes, tuple(kernels))


def task_memory_estimate(
    spec: TaskSpec, data: Dataset | DataShape, factory_model: torch.nn.Module | None = None
) -> MemoryEstimate:
    """The estimate of ``spec`` on data of these sizes (a loaded Dataset, or only its DataShape:
    nothing of the data's size is allocated); a factory model is measured (``factory_model``, or
    built on the CPU), the paper's network is sized by formula. The data count n d float64 values
    and their copy in the task's dtype."""
    dtype = TORCH_DTYPES[spec.dtype]
    itemsize = torch.empty((), dtype=dtype).element_size()
    data_bytes = data.n * data.d * (torch.float64.itemsize + itemsize)
    if spec.model.is_factory:
        model = factory_model if factory_model is not None else build_task_model(spec, data)
        rows = torch.zeros(1, data.d, dtype=dtype).expand(data.n, data.d)  # sizes only, nothing allocated
        sizes = Sizes.of_model(model, rows)
    else:
        out_dim = data.n_classes if spec.loss == "cross_entropy" else 1
        sizes = Sizes.paper(data.n, data.d, spec.model.width, spec.model.depth, out_dim, itemsize)
    return estimate_task_memory(spec, sizes, data_bytes=data_bytes)


def estimate_memory(spec: TaskSpec) -> MemoryEstimate:
    """Estimated peak memory of rscbench.run.task.measure_task on ``spec``, in bytes, per kernel and in
    total.

    The paper's network is sized by formula (nothing is allocated); a factory model is built once on
    the CPU to count its parameters and saved activations. See rscbench.measure.memory.
    """
    return task_memory_estimate(spec, task_data_shape(spec))
