"""Quick or full grid, and the frozen kernel widths: plain Python, no torch (see kernels_cuda).

APPEND ONLY, as fixtures.py: add widths at the end, never edit or remove one.
"""

from __future__ import annotations

import os

FULL_VARIABLE = "RSCBENCH_BENCH_FULL"

KERNEL_WIDTHS = (64, 256, 1024, 2048)
QUICK_KERNEL_WIDTHS = (64, 256)


def full_grid() -> bool:
    """Whether the environment asks for the full grid (``RSCBENCH_BENCH_FULL=1``)."""
    return os.environ.get(FULL_VARIABLE, "").strip() == "1"


def kernel_widths() -> tuple[int, ...]:
    """Widths of the kernel benchmarks: the quick pair, or every frozen width on the full grid."""
    return KERNEL_WIDTHS if full_grid() else QUICK_KERNEL_WIDTHS
