"""The run's progress line: tasks done of total, failures, elapsed time, an ETA from the cost model's
estimates (corrected by how this run's finished tasks compared with theirs), and the running tasks.

On a terminal the line is redrawn in place when a task starts or ends; elsewhere (a log file) a
line is written as each task starts, and one when the last ends. Warnings never go here: they are
stored with their task.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["Progress", "clock"]

BAR = 20
SHOWN_RUNNING = 2
PRIOR_WEIGHT = 0.2
"""The estimates' own weight in the ETA's correction ratio, as a fraction of their total: a few
slow first tasks move the ETA, but only many make it follow them (replaying a run of cpu-default
on a busy machine, weight 0 put the ETA at 45 min after 20 tasks against 6 min left, 0.1-0.3 at
5-10 min)."""


def clock(seconds: float) -> str:
    """``seconds`` as ``XhYYm``, ``XmYYs``, ``Xs`` or, under 10 s, ``X.Ys`` (``<0.1s`` below that: a
    short time never reads as zero)."""
    if seconds < 0.1:
        return "<0.1s"
    if seconds < 9.95:
        return f"{seconds:.1f}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@dataclass
class Progress:
    """The progress of running ``task_ids`` on ``stream`` with ``workers`` tasks at a time.

    ``estimates`` maps task ids to predicted seconds (rscbench.run.cost_model; missing: unknown),
    ``labels`` to what the line calls a running task (default: its id). The ETA is the estimates
    of the tasks not finished, times the ratio measured/estimated of the tasks this run finished
    (PRIOR_WEIGHT of the estimates' total added to both sides, so 1 before any), less what the
    running ones have already run, divided among the workers; tasks without an estimate count as
    the mean wall time of this run's finished tasks, and the ETA is unknown ("?") while there is
    none.
    """

    task_ids: Sequence[str]
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    estimates: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1
    done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)
    running: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    _drawn: int = 0

    @property
    def total(self) -> int:
        """Tasks this run will run."""
        return len(self.task_ids)

    def start(self, task_id: str) -> None:
        """Note that ``task_id`` started; redraw on a terminal."""
        self.running[task_id] = time.perf_counter()
        self._draw(final=False)

    def update(self, record: dict[str, Any]) -> None:
        """Count one finished task (a record dict) and redraw the line."""
        self.running.pop(record["task_id"], None)
        self.finished[record["task_id"]] = float(record["wall_seconds"])
        self.done += 1
        self.failed += record["status"] in ("failed", "timeout")
        if self._tty() or self.done >= self.total:
            self._draw(final=self.done >= self.total)

    def eta_seconds(self) -> float | None:
        """Seconds until every task has finished, as the class docstring says; None when unknown."""
        known = [tid for tid in self.finished if tid in self.estimates]
        prior = PRIOR_WEIGHT * sum(self.estimates.get(t, 0.0) for t in self.task_ids)
        measured = sum(self.finished[t] for t in known)
        estimated = sum(self.estimates[t] for t in known)
        ratio = (measured + prior) / (estimated + prior) if estimated + prior > 0 else 1.0
        mean = sum(self.finished.values()) / len(self.finished) if self.finished else None
        now, left = time.perf_counter(), 0.0
        for task_id in self.task_ids:
            if task_id in self.finished:
                continue
            estimate = self.estimates.get(task_id)
            expected = estimate * ratio if estimate is not None else mean
            if expected is None:
                return None
            left += (
                max(0.0, expected - (now - self.running[task_id])) if task_id in self.running else expected
            )
        return left / max(self.workers, 1)

    def line(self) -> str:
        """The progress line (without its end)."""
        filled = BAR * self.done // max(self.total, 1)
        text = (
            f"[{'#' * filled}{'.' * (BAR - filled)}] {self.done}/{self.total} done, {self.failed} failed, "
            f"{clock(time.perf_counter() - self.started)} elapsed"
        )
        if self.done < self.total:
            eta = self.eta_seconds()
            text += f", ETA {'?' if eta is None else '~' + clock(eta)}"
        if self.running and self.done < self.total:
            names = [self.labels.get(task_id, task_id) for task_id in self.running]
            more = f" (+{len(names) - SHOWN_RUNNING} more)" if len(names) > SHOWN_RUNNING else ""
            text += " | running: " + "; ".join(names[:SHOWN_RUNNING]) + more
        return text

    def _tty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def _draw(self, *, final: bool) -> None:
        """Redraw in place on a terminal (a new line after the last task); else write one line."""
        text = self.line()
        if self._tty():
            width = shutil.get_terminal_size().columns - 1
            text = text[:width].ljust(min(self._drawn, width))
            self._drawn = len(text)
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
