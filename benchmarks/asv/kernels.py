"""Speed and host memory of the curvature kernels on the CPU, across widths (``time_``, ``peakmem_``).

Every benchmark builds the frozen problem of fixtures.KERNEL_PROBLEM at one width in ``setup``
and calls the kernel once there (outside the timing), then measures one kernel call:

* ``Hvp``: one exact Hessian-vector product of the loss, on an operator whose gradient graph is
  built once (as every solver of the library uses it);
* ``Lanczos``: ``hessian_extremes`` to tol (lambda_max and lambda_min of the loss Hessian);
* ``ProbeNorms``: ``predictor_hessian_norms`` on the first ``probes`` inputs;
* ``NtkGram``: the n x n NTK Gram matrix;
* ``GdStep``: one full-batch gradient-descent step (loss, gradient, in-place update).

``time_kernel`` is wall-clock seconds per call; ``peakmem_kernel`` is the peak resident host
memory of the benchmark process (bytes), which includes the torch import (about 300 MB) and
the problem itself, so it moves only with kernels large enough to show above that floor. The
CUDA variants are in kernels_cuda.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from rscbench.data import sphere
from rscbench.measure import (
    HessianOperator,
    hessian_extremes,
    loss_function,
    ntk_gram,
    predictor_hessian_norms,
)
from rscbench.measure.lanczos import random_start
from rscbench.measure.params import ScalarFn, detached_params
from rscbench.models import PaperMLP, paper_mlp

from .fixtures import KERNEL_PROBLEM
from .grids import kernel_widths


@dataclass(frozen=True)
class KernelProblem:
    """The frozen problem at one width on one device: model, inputs, targets and square loss."""

    width: int
    model: PaperMLP
    X: Tensor
    y: Tensor
    loss: ScalarFn
    params: Mapping[str, Tensor]


def build_problem(width: int, device: str) -> KernelProblem:
    """The paper's network of ``width`` and its batch, float32 on ``device``, from fixed seeds."""
    spec = KERNEL_PROBLEM
    X, y = sphere(spec.n, spec.in_dim, seed=spec.data_seed)
    model = paper_mlp(spec.in_dim, width, spec.depth, spec.activation, spec.sigma1, seed=spec.model_seed)
    model = model.to(device).requires_grad_(False)
    X, y = X.to(device), y.to(device)
    return KernelProblem(width, model, X, y, loss_function(model, X, y, "square"), detached_params(model))


def _hvp(problem: KernelProblem) -> Callable[[], object]:
    operator = HessianOperator(problem.loss, problem.params, "reuse")
    vector = random_start(
        1, operator.dim, seed=KERNEL_PROBLEM.vector_seed, dtype=operator.dtype, device=operator.device
    )[0]
    return lambda: operator.matvec(vector)


def _lanczos(problem: KernelProblem) -> Callable[[], object]:
    return lambda: hessian_extremes(
        problem.loss, problem.params, tol=KERNEL_PROBLEM.tol, seed=KERNEL_PROBLEM.solver_seed
    )


def _probe_norms(problem: KernelProblem) -> Callable[[], object]:
    probes = problem.X[: KERNEL_PROBLEM.probes]
    return lambda: predictor_hessian_norms(
        problem.model, probes, tol=KERNEL_PROBLEM.tol, seed=KERNEL_PROBLEM.solver_seed
    )


def _ntk_gram(problem: KernelProblem) -> Callable[[], object]:
    return lambda: ntk_gram(problem.model, problem.X)


def _gd_step(problem: KernelProblem) -> Callable[[], object]:
    leaves = {name: value.clone().requires_grad_(True) for name, value in problem.params.items()}

    def step() -> Tensor:
        value = problem.loss(leaves)
        gradients = torch.autograd.grad(value, list(leaves.values()))
        with torch.no_grad():
            for leaf, gradient in zip(leaves.values(), gradients, strict=True):
                leaf.sub_(KERNEL_PROBLEM.eta * gradient)
        return value.detach()

    return step


KERNELS: dict[str, Callable[[KernelProblem], Callable[[], object]]] = {
    "hvp": _hvp,
    "lanczos": _lanczos,
    "probe_norms": _probe_norms,
    "ntk_gram": _ntk_gram,
    "gd_step": _gd_step,
}
"""Kernel name -> a function that prepares the kernel on a problem and returns the call to measure."""


class _CpuKernel:
    """One kernel of KERNELS on the CPU; subclasses name it in ``kernel``."""

    kernel = ""
    params: ClassVar[list[int]] = list(kernel_widths())
    param_names: ClassVar[list[str]] = ["width"]
    repeat = (3, 8, 5.0)
    rounds = 2
    timeout = 600

    def setup(self, width: int) -> None:
        self.call = KERNELS[self.kernel](build_problem(width, "cpu"))
        self.call()  # first-call costs (lazy initialisation inside torch) stay out of the timing

    def time_kernel(self, width: int) -> None:
        self.call()

    def peakmem_kernel(self, width: int) -> None:
        self.call()


class Hvp(_CpuKernel):
    kernel = "hvp"


class Lanczos(_CpuKernel):
    kernel = "lanczos"


class ProbeNorms(_CpuKernel):
    kernel = "probe_norms"


class NtkGram(_CpuKernel):
    kernel = "ntk_gram"


class GdStep(_CpuKernel):
    kernel = "gd_step"
