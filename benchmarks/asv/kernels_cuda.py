"""The kernels of kernels.py on a CUDA device: time per call and device memory (``time_``, ``track_``).

Skipped, with the reason, where there is no CUDA device: ``setup`` raises NotImplementedError,
which asv records as a skip (``n/a``; ``asv run -e`` prints ``asv: skipped: ...`` and the reason).
asv spawns one process per benchmark and parameter, so this module imports neither torch nor the
library at import time, and a machine with no GPU driver at all (no NVIDIA driver, no ROCm
kernel driver, no WSL GPU device) skips before importing torch; elsewhere the answer is
``torch.cuda.is_available()``.

Correct by construction on a GPU:

* ``time_kernel`` ends with ``torch.cuda.synchronize()`` (and ``setup`` runs the kernel once and
  synchronises before the timer starts), so asv's wall-clock timer measures the kernels and not
  the launch queue;
* ``peakmem_`` would measure host RSS, which does not see device memory, so device memory is a
  ``track_``: ``track_device_peak_bytes`` is ``torch.cuda.max_memory_allocated()`` during one
  call minus the memory allocated before it (the kernel's own working memory, bytes), with the
  peak statistics reset right before the call.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

from .grids import kernel_widths

GPU_DRIVER_PATHS = ("/proc/driver/nvidia/version", "/dev/kfd", "/dev/dxg")
"""The NVIDIA driver, the ROCm kernel driver and WSL's GPU device: without any, torch sees no GPU."""


def cuda_unavailable_reason() -> str | None:
    """Why the CUDA benchmarks cannot run here, or None when torch sees a CUDA device."""
    if shutil.which("nvidia-smi") is None and not any(Path(path).exists() for path in GPU_DRIVER_PATHS):
        return "needs a CUDA device: no GPU driver on this machine (" + ", ".join(GPU_DRIVER_PATHS) + ")"
    import torch

    if not torch.cuda.is_available():
        return "needs a CUDA device: torch.cuda.is_available() is False on this machine"
    return None


class _CudaKernel:
    """One kernel of kernels.KERNELS on the first CUDA device; subclasses name it in ``kernel``."""

    kernel = ""
    params: ClassVar[list[int]] = list(kernel_widths())
    param_names: ClassVar[list[str]] = ["width"]
    repeat = (3, 8, 5.0)
    rounds = 2
    timeout = 600

    def setup(self, width: int) -> None:
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise NotImplementedError(reason)
        import torch

        from .kernels import KERNELS, build_problem

        self.synchronize = torch.cuda.synchronize
        self.call = KERNELS[self.kernel](build_problem(width, "cuda"))
        self.call()  # CUDA context, kernels and allocator warmed up outside the measurement
        self.synchronize()

    def time_kernel(self, width: int) -> None:
        self.call()
        self.synchronize()

    def track_device_peak_bytes(self, width: int) -> int:
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        self.call()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before

    track_device_peak_bytes.unit = "bytes"


class HvpCuda(_CudaKernel):
    kernel = "hvp"


class LanczosCuda(_CudaKernel):
    kernel = "lanczos"


class ProbeNormsCuda(_CudaKernel):
    kernel = "probe_norms"


class NtkGramCuda(_CudaKernel):
    kernel = "ntk_gram"


class GdStepCuda(_CudaKernel):
    kernel = "gd_step"
