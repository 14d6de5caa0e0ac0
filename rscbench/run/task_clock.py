"""Wall time and warnings per part of one task: ``setup`` (data, model, memory check), then each
quantity as the kernels announce it (measure_snapshot's ``on_part``) and Q9 for gradient descent.

Timing and warning capture live here, in the run layer, so the kernels stay free of both. A warning
raised while a part runs is recorded as ``"<part>: <Category>: <message>"`` (repeats counted), to be
stored in the task's record instead of being printed over the progress bar. Python's warning
capture is process-wide, so on a Dask worker that runs several tasks in threads at once a warning
can land in a neighbour's record; in-process and pool tasks run one per process.
"""

from __future__ import annotations

import time
import warnings
from types import TracebackType

import torch

__all__ = ["SETUP", "TaskClock", "synchronize"]

SETUP = "setup"
"""The part before the first quantity: loading data, building the model, checking its memory."""


def synchronize(device: str) -> None:
    """Wait for queued CUDA work, so a wall time read next covers the kernels, not their launch."""
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.synchronize()


class TaskClock:
    """Times consecutive parts of a task and records the warnings raised in each.

    Use as a context manager around the task; call :meth:`mark` with a part's name as it starts
    (the previous part ends there). On a CUDA ``device`` each boundary waits for queued kernels,
    so a part's time covers its kernels rather than their launch. ``seconds`` maps each part to its
    wall seconds (parts entered twice add up); ``warnings`` lists the recorded warnings.
    """

    def __init__(self, device: str = "cpu") -> None:
        """A clock for a task running on ``device`` ("cpu" or "cuda")."""
        self.device = device
        self.seconds: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._part: str | None = None
        self._since = 0.0
        self._caught: list[warnings.WarningMessage] = []
        self._context: warnings.catch_warnings | None = None

    def __enter__(self) -> TaskClock:
        """Start recording warnings and the ``setup`` part."""
        self._context = warnings.catch_warnings(record=True)
        self._caught = self._context.__enter__()
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        self.mark(SETUP)
        return self

    def mark(self, part: str) -> None:
        """End the running part (if any) and start ``part``."""
        self._close()
        self._part, self._since = part, time.perf_counter()

    def _close(self) -> None:
        """Add the running part's time since it started and label the warnings it raised."""
        if self._part is None:
            return
        synchronize(self.device)
        self.seconds[self._part] = self.seconds.get(self._part, 0.0) + time.perf_counter() - self._since
        for caught in self._caught:
            text = f"{self._part}: {caught.category.__name__}: {caught.message}"
            self._counts[text] = self._counts.get(text, 0) + 1
        self._caught.clear()
        self._part = None

    @property
    def warnings(self) -> list[str]:
        """Each distinct warning once, in the order first raised, with ``(xN)`` when raised N > 1 times."""
        return [text if count == 1 else f"{text} (x{count})" for text, count in self._counts.items()]

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """End the running part and stop recording warnings (an exception propagates)."""
        try:
            self._close()
        finally:
            if self._context is not None:
                self._context.__exit__(kind, error, trace)
