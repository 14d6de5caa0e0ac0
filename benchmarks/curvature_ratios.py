"""Paired, interleaved timings of the curvature kernels against their peers (ratios, not seconds).

Usage: python benchmarks/curvature_ratios.py [--widths 256 1024 2048] [--repeats 5] [--n 256]

On the paper's network (depth 3, tanh, d = 32, float32, the benchmark data of benchmarks/pytest),
each repetition runs every method once, in turn, so a busy machine slows all of them alike; the
figures are medians over repetitions of each method's time divided by the same repetition's
gradient. Methods:

- ``gradient``: one full-batch gradient (the unit).
- ``hvp_plain``: ``torch.autograd.grad(g, params, grad_outputs=v, retain_graph=True)`` on a kept
  gradient graph, the product as a PyHessian-style power iteration takes it (measured, not copied).
- ``hvp_full``: rscbench.measure.hvp.HessianOperator.matvec (graph kept).
- ``hvp_structured``: a product in the structured subspace (rscbench.measure.structured).
- ``top_rscbench``: loss_hessian_extremes(target="largest", tol=1e-3), setup included.
- ``top_full``: the same forced into parameter space.
- ``top_curvlinops``: curvlinops HessianLinearOperator(...).to_scipy() and scipy eigsh(k=1,
  which="LA", tol=1e-3), operator built inside the timing (check_deterministic=False).
- ``step_*``: a 30-product Lanczos run that never stops early, per product.

Each top-eigenvalue method also reports its products and its relative error against a float64
Lanczos at tol 1e-10 on the same float32 parameters cast up. Prints one JSON line per width with
the load average before and after. Needs curvlinops (the ``peers`` extra, installed --no-deps).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from rscbench.data import sphere
from rscbench.measure.hvp import HessianOperator
from rscbench.measure.krylov import random_start
from rscbench.measure.lanczos import lanczos
from rscbench.measure.losses import loss_function
from rscbench.measure.params import detached_params
from rscbench.measure.spaces import StructuredSpace, choose_space, loss_hessian_extremes
from rscbench.models import paper_mlp

D, DEPTH, SEED = 32, 3, 0


def _problem(width: int, n: int, dtype: torch.dtype):
    X, y = sphere(n, D, seed=20261124)
    model = paper_mlp(D, width, DEPTH, "tanh", 1.0, seed=SEED).to(dtype).requires_grad_(False)
    return model, X.to(dtype), y.to(dtype)


def _reference(width: int, n: int) -> float:
    """lambda_max in float64 by Lanczos at tol 1e-10 in the structured subspace (exact spectrum)."""
    model, X, y = _problem(width, n, torch.float64)
    return loss_hessian_extremes(model, X, y, tol=1e-10, target="largest", space="structured").lambda_max


def _curvlinops_top(model, X, y) -> tuple[float, int]:
    from curvlinops import HessianLinearOperator
    from scipy.sparse.linalg import eigsh

    params = [p for p in model.parameters()]
    for p in params:
        p.requires_grad_(True)
    operator = HessianLinearOperator(
        model, torch.nn.MSELoss(), params, [(X, y)], progressbar=False, check_deterministic=False
    ).to_scipy()
    calls = [0]
    matvec = operator.matvec

    def counted(v):
        calls[0] += 1
        return matvec(v)

    operator.matvec = counted
    value = eigsh(operator, k=1, which="LA", tol=1e-3, return_eigenvectors=False)[0]
    for p in params:
        p.requires_grad_(False)
    return float(value), calls[0]


def _steps(matvec, size: int, dtype) -> float:
    start = random_start(1, size, seed=0, dtype=dtype, device="cpu")
    began = time.perf_counter()
    lanczos(lambda block: matvec(block[0])[None], start, tol=1e-12, max_iter=30)
    return (time.perf_counter() - began) / 30


def measure(width: int, n: int, repeats: int) -> dict:
    """One width: medians of paired ratios to the gradient, products and errors."""
    model, X, y = _problem(width, n, torch.float32)
    # The peers' loss is MSELoss(mean) = mean (f - y)^2, rscbench's square loss: same Hessian.
    fn, params = loss_function(model, X, y), detached_params(model)
    reference = _reference(width, n)
    leaves = [p.clone().requires_grad_(True) for p in params.values()]
    kept = torch.autograd.grad(fn(dict(zip(params, leaves, strict=True))), leaves, create_graph=True)
    vector = [torch.randn(p.shape, generator=torch.Generator().manual_seed(1)) for p in leaves]
    flat = torch.cat([v.reshape(-1) for v in vector])
    full = HessianOperator(fn, params, "reuse")
    structured = StructuredSpace(model, X, y, "square")
    coords = structured.project(random_start(1, structured.size, seed=1, dtype=X.dtype, device="cpu")[0])

    def gradient():
        grads = [p.clone().requires_grad_(True) for p in params.values()]
        torch.autograd.grad(fn(dict(zip(params, grads, strict=True))), grads)

    outcomes: dict[str, tuple[float, int]] = {}

    def top(name, call):
        def run():
            outcomes[name] = call()

        return run

    methods = {
        "gradient": gradient,
        "hvp_plain": lambda: torch.autograd.grad(kept, leaves, grad_outputs=vector, retain_graph=True),
        "hvp_full": lambda: full.matvec(flat),
        "hvp_structured": lambda: structured.hessian(coords),
        "step_full": lambda: _steps(full.matvec, full.dim, X.dtype),
        "step_structured": lambda: _steps(structured.hessian, structured.size, X.dtype),
        "top_rscbench": top("top_rscbench", lambda: _extremes(model, X, y, "auto")),
        "top_full": top("top_full", lambda: _extremes(model, X, y, "full")),
        "top_curvlinops": top("top_curvlinops", lambda: _curvlinops_top(model, X, y)),
    }
    times: dict[str, list[float]] = {name: [] for name in methods}
    per_step: dict[str, list[float]] = {"step_full": [], "step_structured": []}
    load_before = os.getloadavg()
    for _ in range(repeats):
        for name, call in methods.items():
            began = time.perf_counter()
            value = call()
            times[name].append(time.perf_counter() - began)
            if name in per_step:
                per_step[name].append(value)
    ratios = {
        name: round(statistics.median(t / g for t, g in zip(values, times["gradient"], strict=True)), 3)
        for name, values in times.items()
        if name not in per_step
    }
    ratios |= {
        name: round(statistics.median(t / g for t, g in zip(values, times["gradient"], strict=True)), 3)
        for name, values in per_step.items()
    }
    tops = {
        name: {"products": products, "rel_error": abs(value - reference) / abs(reference)}
        for name, (value, products) in outcomes.items()
    }
    versus = [a / b for a, b in zip(times["top_rscbench"], times["top_curvlinops"], strict=True)]
    return {
        "width": width,
        "n": n,
        "parameters": full.dim,
        "coordinates": structured.size,
        "space": choose_space(model, X, "square"),
        "gradient_ms": round(1000 * statistics.median(times["gradient"]), 2),
        "ratio_to_gradient": ratios,
        "top_rscbench_over_curvlinops": round(statistics.median(versus), 3),
        "top": tops,
        "reference_lambda_max": reference,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "threads": torch.get_num_threads(),
    }


def _extremes(model, X, y, space: str) -> tuple[float, int]:
    result = loss_hessian_extremes(model, X, y, tol=1e-3, target="largest", space=space)
    return result.lambda_max, result.n_hvp


def main() -> None:
    """Print one JSON line per width."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[256, 1024, 2048])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for width in args.widths:
        print(json.dumps(measure(width, args.n, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
