"""Peak host memory of each kernel on the paper's network, each in a fresh process.

Usage: python benchmarks/peak_memory.py [--width 4096] [--depth 3] [--n 256] [--d 32] [--probes 64]

For every kernel a child process builds the model and data, resets its high-water mark
(/proc/self/clear_refs, Linux), runs the kernel once, and reports VmHWM minus the resident size
before the kernel: the kernel's own peak, in MiB, beside the size of one parameter-sized vector.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

KERNELS = (
    "loss_hessian_extremes",
    "loss_hessian_top",
    "predictor_hessian_norms",
    "ntk_gram",
    "rsc_certificate",
    "gd_step",
)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _child(kernel: str, width: int, depth: int, n: int, d: int, probes: int) -> dict:
    import torch

    from rscbench.datasets import sphere
    from rscbench.measure import (
        loss_function,
        ntk_gram,
        predictor_hessian_norms,
        rsc_certificate,
    )
    from rscbench.measure.params import detached_params
    from rscbench.measure.spectrum import hessian_extremes
    from rscbench.models import paper_mlp

    torch.set_num_threads(1)
    X, y = sphere(n, d, seed=0)
    model = paper_mlp(d, width, depth, "tanh", 1.0, seed=0)
    params = detached_params(model)
    p = sum(value.numel() for value in params.values())
    run = {
        "loss_hessian_extremes": lambda: hessian_extremes(loss_function(model, X, y), params).n_hvp,
        "loss_hessian_top": lambda: (
            hessian_extremes(loss_function(model, X, y), params, target="largest").n_hvp
        ),
        "predictor_hessian_norms": lambda: predictor_hessian_norms(model, X[:probes]).shape[0],
        "ntk_gram": lambda: ntk_gram(model, X).shape[0],
        "rsc_certificate": lambda: rsc_certificate(model, X, y).n_hvp,
        "gd_step": lambda: _gd_step(loss_function(model, X, y), params),
    }[kernel]
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    detail = run()
    seconds = time.perf_counter() - started
    peak = _status_kib("VmHWM")
    return {
        "kernel": kernel,
        "width": width,
        "depth": depth,
        "parameters": p,
        "vector_mib": p * 4 / 2**20,
        "peak_mib": (peak - before) / 1024,
        "seconds": seconds,
        "detail": detail,
    }


def _gd_step(loss_fn, params) -> float:
    import torch

    leaves = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    value = loss_fn(leaves)
    grads = torch.autograd.grad(value, list(leaves.values()))
    with torch.no_grad():
        for leaf, gradient in zip(leaves.values(), grads, strict=True):
            leaf -= 0.1 * gradient
    return float(value)


def main() -> None:
    """Run every kernel in its own process and print one JSON line per kernel."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--probes", type=int, default=64)
    parser.add_argument("--kernel", choices=KERNELS)
    args = parser.parse_args()
    if args.kernel:
        print(json.dumps(_child(args.kernel, args.width, args.depth, args.n, args.d, args.probes)))
        return
    for kernel in KERNELS:
        command = [sys.executable, __file__, "--kernel", kernel]
        for flag in ("width", "depth", "n", "d", "probes"):
            command += [f"--{flag}", str(getattr(args, flag))]
        print(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
