"""How much memory a new allocation on a device can take now: the budget a task's estimate is checked
against (free host memory within the process's cgroup, or free CUDA memory)."""

from __future__ import annotations

import os

import torch

from rscbench.errors import InvalidArgumentError

__all__ = ["available_memory_bytes"]


def available_memory_bytes(device: str | torch.device = "cpu") -> int:
    """Bytes a new allocation on ``device`` can take now.

    CPU: MemAvailable from /proc/meminfo, lowered to the cgroup's remaining limit (memory.max minus
    memory.current, cgroup v2) when one is set; without /proc, the free physical pages
    (os.sysconf). CUDA: free device memory (torch.cuda.mem_get_info) plus what this process's
    caching allocator has reserved but not allocated.
    """
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type != "cpu":
        raise InvalidArgumentError("device", str(device), "cpu or cuda")
    available = _meminfo_available()
    if available is None:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    limit = _cgroup_remaining()
    return available if limit is None else min(available, limit)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _cgroup_remaining() -> int | None:
    try:
        with open("/sys/fs/cgroup/memory.max") as limit_file:
            limit = limit_file.read().strip()
        with open("/sys/fs/cgroup/memory.current") as current_file:
            current = int(current_file.read().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - current)
