"""The Q12 spectral-density figure: drawn from each task's stored bin masses (heights mass / bin width,
integrating to 1), only for ok tasks with Q12, absent without; a run measuring Q12 shows it."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import StepPatch

from rscbench.measure.snapshot import DENSITY_BINS, DENSITY_PREFIX
from rscbench.report import write_report
from rscbench.report.plots import build_figures
from rscbench.report.plots.density import density_curves, hessian_density
from rscbench.run.runner import run_tasks
from rscbench.run.suites import load_suite
from rscbench.store import ResultStore


def _row(task_id: str, activation: str, width: int, masses: np.ndarray | None, status: str = "ok") -> dict:
    row = {
        "task_id": task_id,
        "status": status,
        "spec.model.activation": activation,
        "spec.model.width": width,
        "spec.model.depth": 2,
        "spec.protocol.gd_steps": 0,
        "spec.seed": 0,
        "metric.loss_hessian_density_low": -1.0 if masses is not None else np.nan,
        "metric.loss_hessian_density_high": 3.0 if masses is not None else np.nan,
    }
    for index in range(DENSITY_BINS):
        row[f"metric.{DENSITY_PREFIX}{index:02d}"] = np.nan if masses is None else masses[index]
    return row


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    masses = rng.dirichlet(np.ones(DENSITY_BINS))
    masses[3] = 0.0
    masses /= masses.sum()
    return pd.DataFrame(
        [
            _row("a", "tanh", 16, masses),
            _row("b", "relu", 32, masses[::-1].copy()),
            _row("failed", "tanh", 64, masses, status="failed"),
            _row("no-q12", "tanh", 128, None),
        ]
    )


def test_each_curve_is_its_tasks_bin_masses_over_the_bin_width(frame) -> None:
    curves = density_curves(frame)
    assert [task_id for task_id, _, _ in curves] == ["a", "b"]
    _, edges, density = curves[0]
    assert edges[0] == -1.0 and edges[-1] == 3.0 and len(edges) == DENSITY_BINS + 1
    masses = frame.loc[0, [f"metric.{DENSITY_PREFIX}{i:02d}" for i in range(DENSITY_BINS)]].to_numpy(float)
    assert np.isnan(density[3]) and np.allclose(np.nan_to_num(density) * np.diff(edges), masses)
    assert np.nansum(density * np.diff(edges)) == pytest.approx(1.0, abs=1e-12)


def test_the_figure_draws_one_step_line_per_task_with_q12(frame) -> None:
    fig = hessian_density(frame)
    assert fig is not None
    (ax,) = fig.axes
    steps = [patch for patch in ax.patches if isinstance(patch, StepPatch)]
    assert len(steps) == 2 and ax.get_yscale() == "log"
    for patch, (_, edges, density) in zip(steps, density_curves(frame), strict=True):
        values, drawn_edges, _ = patch.get_data()
        assert np.allclose(drawn_edges, edges) and np.allclose(values, density, equal_nan=True)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["tanh, m = 16", "relu (control), m = 32"]
    assert "hessian_density" in build_figures(frame, pd.DataFrame())


def test_no_figure_without_q12() -> None:
    without = pd.DataFrame([_row("x", "tanh", 16, None)])
    assert hessian_density(without) is None
    assert hessian_density(without.drop(columns=[c for c in without if DENSITY_PREFIX in c])) is None
    assert "hessian_density" not in build_figures(without, pd.DataFrame())


def test_a_report_of_a_run_measuring_q12_shows_the_density(tmp_path) -> None:
    suite_file = tmp_path / "density.toml"
    suite_file.write_text(
        'name = "density"\n[defaults]\nn = 8\nd = 4\nwidth = 8\nprobes = 2\n'
        'density_vectors = 2\ndensity_steps = 8\nquantities = ["Q1", "Q12"]\n'
        '[[experiment]]\nname = "one"\n'
    )
    suite = load_suite(str(suite_file))
    with ResultStore(tmp_path / "store.sqlite") as store:
        run_tasks(suite.tasks(), store, threads=1, progress_stream=io.StringIO())
        report = write_report(tmp_path, suite, store)
    assert (report.folder / "plots" / "hessian_density.png").is_file()
    assert "![hessian_density](plots/hessian_density.png)" in (report.folder / "report.md").read_text()
