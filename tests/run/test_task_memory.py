"""A task's memory estimate (rscbench.run.task_memory): the kernels its protocol runs, its budget check,
and the memory available to check it against (rscbench.run.device_memory)."""

from __future__ import annotations

import os

import pytest
import torch

from dense import not_our_model
from rscbench.errors import RscbenchError
from rscbench.measure import memory
from rscbench.measure.memory import MemoryBudgetError, Sizes
from rscbench.models import paper_mlp
from rscbench.run.device_memory import available_memory_bytes
from rscbench.run.specs import ProtocolSpec, TaskSpec
from rscbench.run.suites import load_suite
from rscbench.run.task_memory import estimate_memory, estimate_task_memory


def spec(**protocol) -> TaskSpec:
    return TaskSpec(protocol=ProtocolSpec(**protocol))


def test_a_task_plan_has_the_kernels_its_protocol_runs() -> None:
    sizes = Sizes.paper(64, 16, 256, 2)
    names = {kernel.name for kernel in estimate_task_memory(spec(), sizes).kernels}
    assert names == {
        "loss",
        "loss_hessian",
        "predictor_hessian",
        "block_norms",
        "gradients",
        "ntk",
        "rsc_certificate",
        "secant",
    }
    only_q3 = estimate_task_memory(spec(quantities=["Q3"]), sizes)
    assert {kernel.name for kernel in only_q3.kernels} == {"loss", "loss_hessian"}
    gd = estimate_task_memory(spec(quantities=["Q3"], gd_steps=5), sizes)
    descent = gd.kernel("gradient_descent")
    # GD holds its copy, theta_0, the gradient and K_0 around its largest checkpoint kernel (Q6).
    assert descent.bytes == 3 * sizes.vector + 64 * 64 * 4 + memory.rsc_bytes(sizes).bytes
    assert gd.largest.name == "gradient_descent"
    estimate = estimate_task_memory(spec(), sizes, data_bytes=1000)
    assert estimate.total_bytes == sizes.vector + 1000 + max(k.bytes for k in estimate.kernels)
    assert estimate.breakdown()["baseline"] == sizes.vector + 1000


def test_trace_density_and_each_optimizer_add_their_kernels() -> None:
    from rscbench.measure import estimator_memory

    sizes = Sizes.paper(64, 16, 256, 2)
    estimate = estimate_task_memory(
        spec(quantities=["Q11", "Q12"], trace_products=30, density_steps=20), sizes
    )
    assert estimate.kernel("loss_hessian_trace") == estimator_memory.trace_bytes(sizes, 30)
    # float32: the int64 and float64 draws of the 10-column sketch, 16 bytes per entry, beside 4 P
    assert estimate.kernel("loss_hessian_trace").bytes == (
        10 * sizes.parameters * 16 + 4 * sizes.vector + 7 * sizes.act() + memory.OVERHEAD_BYTES
    )
    # SLQ runs in parameter space with a 20-vector basis and no restart, beside 4 P and 7 act
    density_state = memory.lanczos_bytes(sizes.parameters, sizes.itemsize, max_basis=20, max_iter=20)
    assert estimate.kernel("loss_hessian_density").bytes == (
        density_state + 4 * sizes.vector + 7 * sizes.act() + memory.OVERHEAD_BYTES
    )
    gd = estimate_task_memory(spec(quantities=["Q3"], gd_steps=5), sizes).kernel("gradient_descent")
    sgd = estimate_task_memory(spec(quantities=["Q3"], gd_steps=5, optimizer="sgd", lr=0.1), sizes)
    assert sgd.kernel("training (sgd)").bytes == gd.bytes
    momentum = estimate_task_memory(spec(quantities=["Q3"], gd_steps=5, optimizer="momentum", lr=0.1), sizes)
    assert momentum.kernel("training (momentum)").bytes == gd.bytes + sizes.vector
    adam = estimate_task_memory(spec(quantities=["Q3"], gd_steps=5, optimizer="adam", lr=0.1), sizes)
    inner = max(memory.rsc_bytes(sizes).bytes, estimator_memory.preconditioned_top_bytes(sizes).bytes)
    assert adam.kernel("training (adam)").bytes == 5 * sizes.vector + 64 * 64 * 4 + inner


def test_a_model_that_is_not_the_paper_network_uses_the_generic_kernels() -> None:
    X = torch.randn(20, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    sizes = Sizes.of_model(not_our_model(4), X)
    assert sizes.parameters == sum(p.numel() for p in not_our_model(4).parameters()) and not sizes.structured
    names = {kernel.name for kernel in estimate_task_memory(spec(), sizes).kernels}
    assert "block_norms" not in names and "predictor_hessian" in names
    assert Sizes.of_model(paper_mlp(4, 8, 2, "tanh", 1.0).double(), X) == Sizes.paper(20, 4, 8, 2, itemsize=8)


def test_a_task_over_budget_is_refused_with_its_estimate() -> None:
    estimate = estimate_task_memory(spec(), Sizes.paper(256, 32, 1024, 3))
    memory.check_budget(estimate, estimate.total_bytes)
    with pytest.raises(MemoryBudgetError) as refused:
        memory.check_budget(estimate, estimate.total_bytes - 1)
    error = refused.value
    assert isinstance(error, RscbenchError)
    assert error.kernel == estimate.largest.name == "rsc_certificate"
    assert error.estimate_bytes == estimate.total_bytes and error.budget_bytes == estimate.total_bytes - 1
    assert "rsc_certificate" in str(error) and "MiB" in str(error)


def test_available_memory_is_positive_and_below_the_machine_total() -> None:
    available = available_memory_bytes("cpu")
    assert available > 0
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as meminfo:
            total = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1]) * 1024
        assert available <= total


def test_gpu_full_fits_one_141_gb_gpu_with_gd_certificates_to_width_16384() -> None:
    suite = load_suite("gpu-full")
    estimates = [(spec, estimate_memory(spec)) for spec in suite.tasks()]
    gd_widths = {
        spec.model.width
        for spec, _ in estimates
        if spec.protocol.gd_steps and "Q6" in spec.protocol.quantities
    }
    assert max(gd_widths) >= 16384
    assert max(estimate.total_bytes for _, estimate in estimates) <= 141 * 10**9
    widest = next(e for spec, e in estimates if spec.protocol.gd_steps and spec.model.width == 16384)
    assert "vectors of S" in widest.kernel("gradient_descent").formula  # certificates in the subspace
