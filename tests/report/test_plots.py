"""Tests for rscbench.report.plots: files written, figures skipped without data, determinism, labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from rscbench.analysis.fits import fit_scaling
from rscbench.report.plots import build_figures, write_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALL_STEMS = [
    "hessian_vs_width",
    "hessian_along_gd_vs_width",
    "hessian_vs_depth",
    "gbar_vs_width",
    "gbar_vs_depth",
    "rsc_along_gd_tanh",
    "ntk_drift_vs_width",
    "rsc_fraction_vs_width",
    "regime_map",
]
SEEDS = (0, 1, 2)


def _task(
    rng: np.random.Generator, activation: str, width: int, depth: int, sigma1: float, seed: int, gd: int
):
    """One synthetic ok task record as a frame row, with metrics following known laws plus noise."""
    noise = np.exp(rng.normal(0.0, 0.03, size=4))
    row = {
        "task_id": f"{activation}-{width}-{depth}-{sigma1}-{seed}-{gd}",
        "status": "ok",
        "spec.model.activation": activation,
        "spec.model.width": width,
        "spec.model.depth": depth,
        "spec.model.sigma1": sigma1,
        "spec.loss": "square",
        "spec.data.dataset": "sphere",
        "spec.data.n": 32,
        "spec.data.d": 8,
        "spec.protocol.gd_steps": gd,
        "spec.protocol.kappa": 0.5,
        "spec.seed": seed,
        "metric.predictor_hessian_max": 0.8 * width**-0.5 * sigma1**depth * noise[0],
        "metric.g_bar_sqnorm": 0.01 * width**0.05 * noise[1],
        "metric.theorem_c2": np.nan,
        "metric.gd_steps_taken": np.nan,
        "metric.gd_ntk_drift": np.nan,
        "metric.gd_rsc_certified_fraction": np.nan,
    }
    if gd:
        row |= {
            "metric.theorem_c2": 2.0 * noise[2],
            "metric.gd_steps_taken": float(gd),
            "metric.gd_ntk_drift": 100.0 * width**-0.5 * noise[3],
            "metric.gd_rsc_certified_fraction": 1.0 if width > 64 else 0.5,
        }
    return row


def _trajectory(task_id: str, width: int, steps: int) -> list[dict]:
    """Loss decaying geometrically; the RSC lower bound negative at t = 0 and positive after; the
    predictor-Hessian norm at the checkpoints growing along GD."""
    rows = []
    for step in range(steps + 1):
        checkpoint = step % 10 == 0
        rsc = (-0.02 if step == 0 else 0.003 * (64 / width) ** 0.5) if checkpoint else np.nan
        hessian = 0.9 * width**-0.5 * (1 + step / steps) if checkpoint else np.nan
        rows.append(
            {
                "task_id": task_id,
                "step": step,
                "loss": 0.95**step,
                "rsc_lower": rsc,
                "predictor_hessian_max": hessian,
            }
        )
    return rows


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Width sweeps at init (tanh, gelu), depth sweeps per sigma1 (tanh), and a GD width sweep (tanh)."""
    rng = np.random.default_rng(0)
    rows = [
        _task(rng, activation, width, 2, 1.0, seed, 0)
        for activation in ("tanh", "gelu")
        for width in (32, 64, 128, 256, 512)
        for seed in SEEDS
    ]
    rows += [
        _task(rng, "tanh", 128, depth, sigma1, seed, 0)
        for sigma1 in (0.5, 2.0)
        for depth in (1, 2, 3, 4)
        for seed in SEEDS
    ]
    gd_rows = [_task(rng, "tanh", width, 2, 1.0, seed, 40) for width in (64, 128, 256) for seed in SEEDS]
    trajectories = [step for r in gd_rows for step in _trajectory(r["task_id"], r["spec.model.width"], 40)]
    return pd.DataFrame(rows + gd_rows), pd.DataFrame(trajectories)


@pytest.fixture(scope="module")
def written(data, tmp_path_factory) -> list[Path]:
    """The PNG paths of one write_plots call on the full synthetic data."""
    return write_plots(*data, tmp_path_factory.mktemp("plots") / "nested" / "plots", seed=0)


def _legend_texts(fig) -> list[str]:
    return [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]


def test_writes_every_figure_as_valid_png_and_pdf(written):
    assert [path.stem for path in written] == ALL_STEMS
    for png in written:
        assert png.read_bytes()[:8] == PNG_MAGIC
        image = imread(png)
        assert image.ndim == 3 and image.shape[2] in (3, 4)
        assert image.shape[0] > 300 and image.shape[1] > 500
        assert image[..., :3].std() > 0.05  # something was drawn, not a blank canvas
        assert png.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def test_same_input_gives_byte_identical_files(data, written, tmp_path):
    again = write_plots(*data, tmp_path, seed=0)
    assert [path.name for path in again] == [path.name for path in written]
    for first, second in zip(written, again, strict=True):
        assert first.read_bytes() == second.read_bytes()
        assert first.with_suffix(".pdf").read_bytes() == second.with_suffix(".pdf").read_bytes()


def test_figures_without_data_are_skipped(data, tmp_path):
    frame, _ = data
    at_init = frame[(frame["spec.protocol.gd_steps"] == 0) & (frame["spec.model.depth"] == 2)]
    at_init = at_init[at_init["spec.model.sigma1"] == 1.0]
    paths = write_plots(at_init, pd.DataFrame(columns=["task_id", "step"]), tmp_path / "init")
    assert [path.stem for path in paths] == ["hessian_vs_width", "gbar_vs_width"]
    assert sorted(p.name for p in (tmp_path / "init").iterdir()) == sorted(
        f"{stem}.{ext}" for stem in ("hessian_vs_width", "gbar_vs_width") for ext in ("png", "pdf")
    )
    # no task measured theorem_c2: the data alone, and the legend says why the threshold is missing
    gbar = build_figures(at_init, pd.DataFrame())["gbar_vs_width"]
    assert any("not drawn" in text for text in _legend_texts(gbar))
    assert write_plots(frame.iloc[0:0], pd.DataFrame(), tmp_path / "empty") == []
    assert (tmp_path / "empty").is_dir()


def test_hessian_vs_width_shows_the_fitted_exponent(data):
    frame, trajectories = data
    fig = build_figures(frame, trajectories, seed=0)["hessian_vs_width"]
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "width" in ax.get_xlabel() and "(neurons)" in ax.get_xlabel()
    assert "(dimensionless)" in ax.get_ylabel()
    assert "depth L = 2" in ax.get_title()
    tanh = frame[(frame["spec.model.activation"] == "tanh") & (frame["spec.protocol.gd_steps"] == 0)]
    tanh = tanh[(tanh["spec.model.depth"] == 2) & (tanh["spec.model.sigma1"] == 1.0)]
    fit = fit_scaling(
        tanh["spec.model.width"], tanh["metric.predictor_hessian_max"], tanh["spec.seed"], seed=0
    )
    expected = f"tanh: b = {fit.exponent:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}]"
    texts = _legend_texts(fig)
    assert expected in texts
    assert abs(fit.exponent + 0.5) < 0.05
    assert any("reference slope" in text for text in texts)


def test_gbar_threshold_uses_measured_c2_and_gd_figure_has_two_panels(data):
    figures = build_figures(*data)
    texts = _legend_texts(figures["gbar_vs_width"])
    assert any("threshold" in text and "tanh" in text and r"$\kappa$ = 0.5" in text for text in texts)
    top, bottom = figures["rsc_along_gd_tanh"].axes
    assert top.get_yscale() == "log"
    assert bottom.get_yscale() == "symlog"
    assert any(list(line.get_ydata()) == [0.0, 0.0] for line in bottom.get_lines())  # the zero line
    fraction = figures["rsc_fraction_vs_width"].axes[0]
    assert any(list(line.get_ydata()) == [0.95, 0.95] for line in fraction.get_lines())


def test_plots_overlay_the_infinite_width_limit_and_label_units_from_the_registry(data) -> None:
    """With the dataset named, ||g_bar||^2 and lambda_min(K) carry their infinite-width value per width;
    every y label ends with the registry's unit (the certificate is a curvature, loss/param^2)."""
    frame, trajectories = data
    named = frame.assign(
        **{"spec.data.dataset_seed": 0, "spec.data.targets": None, "spec.model.scale_input": True}
    )
    named["metric.ntk_lambda_min"] = 1e-4 * named["spec.model.width"] ** 0.5
    figures = build_figures(named, trajectories)
    for stem in ("gbar_vs_width", "ntk_lambda_min_vs_width", "gbar_vs_depth"):
        texts = _legend_texts(figures[stem])
        assert any("infinite width" in text for text in texts), stem
        assert any(line.get_marker() == "x" for line in figures[stem].axes[0].get_lines()), stem
    assert figures["ntk_lambda_min_vs_width"].axes[0].get_ylabel().endswith("(dimensionless)")
    bottom = figures["rsc_along_gd_tanh"].axes[1]
    assert bottom.get_ylabel().endswith("(loss/param$^2$)")
    assert "gbar_vs_width" in build_figures(frame, trajectories)  # without the data: no limit, still drawn
