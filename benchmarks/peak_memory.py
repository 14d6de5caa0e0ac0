"""Peak host memory of each kernel on the paper's network, each in a fresh process, beside its estimate.

Usage: python benchmarks/peak_memory.py [--width 1024] [--depth 3] [--n 256] [--d 32] [--probes 16]
       [--max-iter 128] [--tol 1e-3] [--kernel NAME ...] [--child]

Without ``--child`` every kernel runs in a fresh process; ``--child`` (with the allocator setting
below in the environment) measures the named kernels one after another in this process, each
after its own warm-up and reset (what tests/measure/test_memory.py uses).

For every kernel a child process builds the model and data, runs the kernel once on a tiny network
(so that first-use costs, code pages and BLAS buffers, are not counted), resets its high-water mark
(/proc/self/clear_refs, Linux), runs the kernel, and reports VmHWM minus the resident size before
the kernel: the kernel's own peak. Children run with MALLOC_MMAP_THRESHOLD_=131072 so that glibc
returns freed tensors to the system at once (otherwise its heap keeps them and the peak depends on
allocation history). Beside it: ``estimate_mib``, rscbench.measure.memory's bound with a full
Lanczos basis, and ``estimate_at_steps_mib``, the same model at the Lanczos products the run took
(the basis blocks it allocated, or a full basis and a restart's vectors once it restarted; the
bound where a kernel does not report its steps). ``space`` says where the loss-Hessian kernels ran
(the structured subspace where the model prefers it). The Hutch++ trace takes ``--max-iter``
products and the SLQ density runs 2 starts of ``--max-iter`` steps. One JSON line per kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

KERNELS = (
    "loss_hessian",
    "predictor_hessian",
    "block_norms",
    "gradients",
    "ntk",
    "rsc_certificate",
    "secant",
    "ntk_jacobian",
    "ntk_products",
    "loss_hessian_trace",
    "loss_hessian_density",
    "preconditioned_sharpness",
)
NEURON_BLOCK_KERNELS = ("predictor_hessian", "rsc_certificate")
"""The kernels that take the exact per-neuron path at depth 1 (rscbench.measure.neuron_blocks)."""
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _runner(kernel: str, n: int, d: int, width: int, depth: int, probes: int, max_iter: int, tol: float):
    """(run, estimate): run() measures and returns the Lanczos steps that bound its basis (or None);
    estimate(steps) is the model's bytes for that step bound."""
    import torch

    from rscbench.data import sphere
    from rscbench.measure import HessianOperator, ScaledOperator, hutchpp_trace, memory, spectral_density
    from rscbench.measure import estimator_memory as estimators
    from rscbench.measure.losses import loss_function
    from rscbench.measure.ntk import ntk_gram, ntk_gram_of, ntk_spectrum, per_sample_grad_norms
    from rscbench.measure.params import detached_params, model_function, scalar_output
    from rscbench.measure.predictor_hessian import predictor_hessian_spectra
    from rscbench.measure.rsc import rsc_certificate
    from rscbench.measure.secant import secant_check
    from rscbench.measure.spaces import average_predictor_gradient, loss_hessian_extremes
    from rscbench.measure.spectrum import hessian_block_norm
    from rscbench.measure.topk import top_eigenpairs
    from rscbench.models import paper_mlp

    X, y = sphere(n, d, seed=0)
    model = paper_mlp(d, width, depth, "tanh", 1.0, seed=0)
    params = detached_params(model)
    shape = memory.Sizes.paper(n, d, width, depth)
    lanczos = {"tol": tol, "max_iter": max_iter}
    f = model_function(model)
    p_bytes, row_act = shape.vector, shape.row_act_bytes
    predictor_strategy = "neuron_blocks" if shape.neuron_blocks else "structured"

    def loss_hessian():
        return loss_hessian_extremes(model, X, y, **lanczos).iterations

    def predictor():
        return int(predictor_hessian_spectra(model, X[:probes], **lanczos).iterations.max())

    def blocks():
        pairs = [(f"W{layer}", f"W{layer}") for layer in range(1, depth + 1)] + [("v", f"W{depth}")]
        return max(
            hessian_block_norm(
                lambda q: scalar_output(f, q, X[:1])[0], params, [rows], [cols], **lanczos
            ).iterations
            for rows, cols in pairs
        )

    def gradients():
        average_predictor_gradient(model, X)
        per_sample_grad_norms(model, X)

    def ntk():
        ntk_spectrum(ntk_gram(model, X))

    def rsc():
        certificate = rsc_certificate(model, X, y, **lanczos)
        runs = (certificate.curvature.php, certificate.curvature.hessian_min, certificate.residual_min)
        return max(run.n_products for run in runs)

    def secant():
        secant_check(loss_function(model, X, y), params, average_predictor_gradient(model, X), n_samples=4)

    def trace():
        hutchpp_trace(HessianOperator(loss_function(model, X, y), params), n_products=max_iter)

    def density():
        spectral_density(HessianOperator(loss_function(model, X, y), params), n_vectors=2, steps=max_iter)
        return max_iter

    def preconditioned():
        scale = torch.rand(shape.parameters, generator=torch.Generator().manual_seed(0)) + 0.5
        operator = ScaledOperator(HessianOperator(loss_function(model, X, y), params), scale)
        return top_eigenpairs(operator, 1, tol=tol, max_basis=max_iter).basis_size

    def generic(method):
        def run():
            ntk_gram_of(f, params, X, method=method, chunk_size=8)

        return run

    return {
        "loss_hessian": (loss_hessian, lambda k: memory.loss_hessian_bytes(shape, k).bytes),
        "predictor_hessian": (
            predictor,
            lambda k: (
                memory.predictor_hessian_bytes(
                    shape, probes, strategy=predictor_strategy, max_iter=max_iter, steps=k
                ).bytes
            ),
        ),
        "block_norms": (blocks, lambda k: memory.block_norm_bytes(shape, k).bytes),
        "gradients": (gradients, lambda k: memory.gradient_bytes(shape).bytes),
        "ntk": (ntk, lambda k: memory.ntk_bytes(shape).bytes),
        "rsc_certificate": (rsc, lambda k: memory.rsc_bytes(shape, k).bytes),
        "secant": (secant, lambda k: memory.secant_bytes(shape).bytes),
        "ntk_jacobian": (
            generic("jacobian"),
            lambda k: memory.jacobian_gram_bytes(n, 8, p_bytes, row_act, 4) + memory.OVERHEAD_BYTES,
        ),
        "ntk_products": (
            generic("products"),
            lambda k: memory.products_gram_bytes(n, 8, p_bytes, row_act, 4) + memory.OVERHEAD_BYTES,
        ),
        "loss_hessian_trace": (trace, lambda k: estimators.trace_bytes(shape, max_iter).bytes),
        "loss_hessian_density": (
            density,
            lambda k: estimators.density_bytes(shape, max_iter if k is None else k).bytes,
        ),
        "preconditioned_sharpness": (
            preconditioned,
            lambda k: estimators.preconditioned_top_bytes(shape, max_iter if k is None else k).bytes,
        ),
    }[kernel], torch


def measure(
    kernel: str, *, n: int, d: int, width: int, depth: int, probes: int, max_iter: int, tol: float
) -> dict:
    """Run ``kernel`` here (after a warm-up on a tiny network); return its peak and estimates."""
    for rows in (8, 2):  # parameter space, then the structured subspace (n << m)
        warm, torch = _runner(kernel, rows, d, 8, depth, 2, max_iter, tol)
        torch.set_num_threads(1)
        warm[0]()
    (run, estimate), _ = _runner(kernel, n, d, width, depth, probes, max_iter, tol)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    steps = run()
    seconds = time.perf_counter() - started
    peak = (_status_kib("VmHWM") - before) * 1024
    bound = estimate(None)
    at_steps = estimate(int(steps)) if steps is not None else bound
    p = width * d + (depth - 1) * width * width + width
    from rscbench.measure.memory import Sizes, loss_subspace

    sizes = Sizes.paper(n, d, width, depth)
    if sizes.neuron_blocks and kernel in NEURON_BLOCK_KERNELS:
        space = "neuron_blocks"
    else:
        space = "structured" if loss_subspace(sizes) is not None else "full"
    return {
        "kernel": kernel,
        "width": width,
        "depth": depth,
        "n": n,
        "parameters": p,
        "vector_mib": round(p * 4 / 2**20, 3),
        "steps": steps,
        "space": space,
        "peak_mib": round(peak / 2**20, 2),
        "estimate_mib": round(bound / 2**20, 2),
        "estimate_at_steps_mib": round(at_steps / 2**20, 2),
        "ratio_at_steps": round(at_steps / peak, 2) if peak > 0 else None,
        "seconds": round(seconds, 3),
    }


def main() -> None:
    """Run every kernel (or ``--kernel``) in its own process and print one JSON line per kernel."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--probes", type=int, default=16)
    parser.add_argument("--max-iter", type=int, default=128)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--kernel", choices=KERNELS, action="append", help="repeatable; default: all")
    parser.add_argument("--child", action="store_true", help="measure here, one kernel after another")
    args = parser.parse_args()
    sizes = dict(
        n=args.n,
        d=args.d,
        width=args.width,
        depth=args.depth,
        probes=args.probes,
        max_iter=args.max_iter,
        tol=args.tol,
    )
    if args.child:
        for kernel in args.kernel:
            print(json.dumps(measure(kernel, **sizes)), flush=True)
        return
    for kernel in args.kernel or KERNELS:
        command = [sys.executable, __file__, "--child", "--kernel", kernel]
        for flag, value in sizes.items():
            command += [f"--{flag.replace('_', '-')}", str(value)]
        env = os.environ | MALLOC_ENV
        result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        print(result.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
