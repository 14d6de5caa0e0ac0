"""The progress line: an ETA from the estimates corrected by this run's measured/estimated ratio,
unknown ("?") without estimates or finished tasks, the running tasks named, one line per start off
a terminal; the task clock times each part and labels each warning with it; torch threads."""

import io
import time
import warnings

import pytest
import torch

from rscbench.errors import InvalidArgumentError
from rscbench.run.progress import Progress, clock
from rscbench.run.task_clock import SETUP, TaskClock
from rscbench.run.threads import apply_threads, available_cpus, default_threads


def finished(task_id: str, seconds: float, status: str = "ok") -> dict:
    return {"task_id": task_id, "wall_seconds": seconds, "status": status}


def test_the_eta_scales_the_estimates_by_how_the_finished_tasks_compared() -> None:
    progress = Progress(["a", "b", "c"], io.StringIO(), estimates={"a": 1.0, "b": 2.0, "c": 4.0}, workers=2)
    assert progress.eta_seconds() == pytest.approx(3.5)  # (1 + 2 + 4) / 2 workers
    progress.update(finished("a", 3.0))  # three times slower than estimated: the machine is busy
    prior = 0.2 * 7
    ratio = (3.0 + prior) / (1.0 + prior)  # the estimates' own weight keeps one task from ruling
    assert progress.eta_seconds() == pytest.approx(ratio * 6 / 2)
    progress.start("b")
    time.sleep(0.05)
    assert progress.eta_seconds() < ratio * 6 / 2


def test_the_eta_is_unknown_until_there_is_something_to_go_on() -> None:
    progress = Progress(["a", "b"], io.StringIO())
    assert progress.eta_seconds() is None and "ETA ?" in progress.line()
    progress.update(finished("a", 2.0))
    assert progress.eta_seconds() == pytest.approx(2.0)  # the mean of this run's finished tasks


def test_the_line_names_the_running_tasks_and_a_log_gets_a_line_per_start() -> None:
    stream = io.StringIO()
    progress = Progress(["a", "b", "c"], stream, labels={"a": "width-sweep width=64 seed=0"}, workers=3)
    for task_id in ("a", "b", "c"):
        progress.start(task_id)
    assert "| running: width-sweep width=64 seed=0; b (+1 more)" in progress.line()
    for task_id in ("a", "b", "c"):
        progress.update(finished(task_id, 1.0, "failed" if task_id == "c" else "ok"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("[" + "#" * 20 + "] 3/3 done, 1 failed")
    assert "ETA" not in lines[-1]


def test_clock_never_shows_a_short_time_as_zero() -> None:
    assert [clock(s) for s in (0.01, 0.4, 9.4, 75, 4000)] == ["<0.1s", "0.4s", "9.4s", "1m15s", "1h06m"]


def test_the_task_clock_times_each_part_and_labels_its_warnings() -> None:
    with TaskClock() as timer:
        time.sleep(0.02)
        timer.mark("Q1")
        warnings.warn("3 of 16 norms stopped at max_iter", RuntimeWarning, stacklevel=1)
        warnings.warn("3 of 16 norms stopped at max_iter", RuntimeWarning, stacklevel=1)
        timer.mark("Q3")
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
    assert set(timer.seconds) == {SETUP, "Q1", "Q3"} and timer.seconds[SETUP] >= 0.02
    assert timer.warnings == ["Q1: RuntimeWarning: 3 of 16 norms stopped at max_iter (x2)"]


def test_threads_default_to_the_cpus_shared_among_workers_and_are_applied() -> None:
    cpus = available_cpus()
    assert default_threads(1) == cpus and default_threads(cpus * 2) == 1
    previous = torch.get_num_threads()
    try:
        apply_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)
    with pytest.raises(InvalidArgumentError):
        apply_threads(0)
