"""How many CPU threads torch may use in each task: the CPUs this process may run on, shared among
the workers, unless the user says otherwise (``--threads``).

torch starts one OpenMP thread per core of the machine by default, so on a shared machine (or with
several workers) its threads spin against each other and every other job; rscbench sets the count
explicitly in every process that runs tasks and records it with each task.
"""

from __future__ import annotations

import math
import os

import torch

from rscbench.errors import require_integer

__all__ = ["apply_threads", "available_cpus", "default_threads"]


def _cgroup_cpus() -> float | None:
    """The CPU quota of this process's cgroup (v2 ``cpu.max``: quota / period), or None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as limit:
            quota, period = limit.read().split()
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def available_cpus() -> int:
    """CPUs this process may use: its CPU affinity (os.sched_getaffinity), lowered to the cgroup's
    CPU quota when one is set (rounded up), at least 1."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_cpus()
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def default_threads(workers: int = 1) -> int:
    """torch threads per task when ``workers`` tasks run at once: available_cpus() // workers, at least 1."""
    require_integer("workers", workers, 1)
    return max(1, available_cpus() // workers)


def apply_threads(threads: int) -> None:
    """Set torch's intra-op thread count of this process to ``threads`` (an integer >= 1)."""
    require_integer("threads", threads, 1)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
