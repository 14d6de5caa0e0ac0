"""The rscbench command line: `rscbench measure` (one task's measurements at init, as JSON).

Exit codes (DESIGN section 8): 0 ok, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence

import torch

from rscbench import __version__
from rscbench.activations import ACTIVATIONS
from rscbench.datasets import SPHERE_TARGETS, sphere
from rscbench.errors import RscbenchError
from rscbench.measure.losses import LOSSES
from rscbench.measure.snapshot import measure_snapshot
from rscbench.models import paper_mlp

EXIT_OK, EXIT_BAD_INPUT = 0, 2
DTYPES = {"float32": torch.float32, "float64": torch.float64}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad flags as one line and exit code 2 (its default code, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; choices come from the registries the library validates against."""
    parser = _Parser(
        prog="rscbench", description="Measure the RSC theory of deep networks with smooth activations."
    )
    parser.add_argument("--version", action="version", version=f"rscbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    measure = commands.add_parser("measure", help="measure one task at initialization and print JSON")
    measure.add_argument("--width", type=int, default=256, help="hidden width m (default 256)")
    measure.add_argument("--depth", type=int, default=2, help="number of hidden layers L (default 2)")
    measure.add_argument("--activation", choices=list(ACTIVATIONS), default="tanh")
    measure.add_argument("--sigma1", type=float, default=1.0, help="init gain sigma1 > 0 (default 1)")
    measure.add_argument(
        "--loss", choices=[n for n, loss in LOSSES.items() if loss.scalar_output], default="square"
    )
    measure.add_argument("--dataset", choices=["sphere"], default="sphere")
    measure.add_argument("--targets", choices=list(SPHERE_TARGETS), default="teacher")
    measure.add_argument("--n", type=int, default=64, help="number of training points (default 64)")
    measure.add_argument("--d", type=int, default=16, help="input dimension (default 16)")
    measure.add_argument("--kappa", type=float, default=0.5, help="cone half-width, in (0, 1] (default 0.5)")
    measure.add_argument("--rho2", type=float, default=1.0, help="secant-check radius > 0 (default 1)")
    measure.add_argument("--probes", type=int, default=16, help="probe inputs for the predictor Hessian")
    measure.add_argument("--tol", type=float, default=1e-3, help="relative Lanczos tolerance (default 1e-3)")
    measure.add_argument("--seed", type=int, default=0, help="seed of the init and every random draw")
    measure.add_argument("--dataset-seed", type=int, default=0)
    measure.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    measure.add_argument("--dtype", choices=list(DTYPES), default="float32")
    return parser


def _measure(args: argparse.Namespace) -> dict:
    if args.device == "cuda" and not torch.cuda.is_available():
        raise RscbenchError("invalid --device='cuda': no CUDA device is available; allowed: cpu")
    dtype = DTYPES[args.dtype]
    X, y = sphere(args.n, args.d, seed=args.dataset_seed, targets=args.targets, dtype=dtype)
    if args.loss == "logistic":
        y = torch.where(y >= 0, 1.0, -1.0).to(dtype)
    model = paper_mlp(args.d, args.width, args.depth, args.activation, args.sigma1, seed=args.seed)
    model = model.to(device=args.device, dtype=dtype)
    X, y = X.to(args.device), y.to(args.device)
    started = time.perf_counter()
    record = measure_snapshot(
        model,
        X,
        y,
        loss=args.loss,
        kappa=args.kappa,
        rho2=args.rho2,
        n_probes=args.probes,
        tol=args.tol,
        seed=args.seed,
    )
    task = {key: value for key, value in vars(args).items() if key != "command"}
    return {
        "rscbench_version": __version__,
        "task": task,
        "metrics": record,
        "wall_seconds": time.perf_counter() - started,
    }


def _json_safe(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rscbench` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        result = _measure(args)
    except RscbenchError as error:
        print(f"rscbench: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    json.dump(_json_safe(result), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
