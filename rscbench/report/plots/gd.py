"""Gradient-descent figures: loss and certified RSC bound along each run, and the certified
fraction of checkpoints against width (V4, V5)."""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rscbench.analysis.metrics import axis_label
from rscbench.analysis.verdicts import sweeps
from rscbench.report.plots.style import (
    WIDTH,
    WIDTH_LABEL,
    describe_groups,
    gd_rows,
    legend_handle,
    legend_outside,
    new_figure,
    plain,
    scatter_points,
    series_styles,
    set_title,
    width_ticks,
)

__all__ = ["rsc_along_gd", "rsc_fraction_vs_width"]


def rsc_along_gd(frame: pd.DataFrame, trajectories: pd.DataFrame) -> list[tuple[str, Figure]]:
    """Figure 4, one per GD group (activation): loss along GD and the certified RSC lower bound.

    Returns (file stem, figure) pairs, stems ``rsc_along_gd_<activation>`` (with ``_<k>`` when one
    activation has several GD groups); empty without GD tasks or their trajectories.
    """
    needed = {"task_id", "step", "loss"}
    if trajectories.empty or not needed <= set(trajectories.columns):
        return []
    groups = sweeps(gd_rows(frame), WIDTH, "gd_steps_taken", min_values=1)
    groups = [(f, r[r["task_id"].isin(trajectories["task_id"])]) for f, r in groups]
    groups = [(f, r) for f, r in groups if not r.empty]
    figures = []
    activations = [str(f.get("model.activation")) for f, _ in groups]
    for index, (fixed, rows) in enumerate(groups):
        activation = activations[index]
        stem = f"rsc_along_gd_{activation}"
        if activations.count(activation) > 1:
            stem += f"_{activations[:index].count(activation) + 1}"
        figures.append((stem, _gd_figure(fixed, rows, trajectories)))
    return figures


def _gd_figure(fixed: dict[str, Any], rows: pd.DataFrame, trajectories: pd.DataFrame) -> Figure:
    """Top: loss per task along GD (log y); bottom: rsc_lower at checkpoints (linear y, zero line)."""
    fig, (top, bottom) = new_figure(height=6.4, rows=2)
    widths = sorted(rows[WIDTH].astype(float).unique())
    cmap = matplotlib.colormaps["viridis"]
    colour = {w: cmap(0.85 * i / max(len(widths) - 1, 1)) for i, w in enumerate(widths)}
    ordered = rows.sort_values([WIDTH, "spec.seed"])
    certified: list[np.ndarray] = []
    for task_id, width in zip(ordered["task_id"], ordered[WIDTH].astype(float), strict=True):
        steps = trajectories[trajectories["task_id"] == task_id].sort_values("step")
        loss = pd.to_numeric(steps["loss"], errors="coerce")
        keep = np.isfinite(loss) & (loss > 0)
        top.plot(steps["step"][keep], loss[keep], color=colour[width], linewidth=1.0, alpha=0.85)
        if "rsc_lower" in steps:
            lower = pd.to_numeric(steps["rsc_lower"], errors="coerce")
            at = np.isfinite(lower)
            bottom.plot(
                steps["step"][at], lower[at], color=colour[width], marker="o", ms=4, ls="none", alpha=0.8
            )
            certified.append(lower[at].to_numpy())
    top.set_yscale("log")
    top.set_ylabel(axis_label("loss", r"training loss $L(\theta_t)$"))
    bottom.axhline(0.0, color="black", linewidth=0.9)
    values = np.concatenate(certified) if certified else np.empty(0)
    if np.any(values != 0):
        # symlog: log on both sides of a linear band narrower than the smallest |bound|, so that the
        # sign (what certification is about) and the size of both signs are readable; limits at
        # whole decades so that each side carries labelled ticks
        linthresh = 10.0 ** math.floor(math.log10(np.abs(values[values != 0]).min()))
        bottom.set_yscale("symlog", linthresh=linthresh, linscale=0.5)
        top_limit = 10.0 ** math.ceil(math.log10(values.max())) if values.max() > 0 else linthresh
        low_limit = -(10.0 ** math.ceil(math.log10(-values.min()))) if values.min() < 0 else -linthresh
        bottom.set_ylim(low_limit, top_limit)
    bottom.set_ylabel(axis_label("rsc_lower", "certified RSC lower bound\n" + r"$\alpha_t$ at checkpoints"))
    bottom.set_xlabel(r"GD step $t$ (iterations)")
    counts = rows[WIDTH].astype(float).value_counts()
    handles = [legend_handle(colour[w], "o", "-", f"m = {w:g} ({counts[w]} seeds)") for w in widths]
    legend_outside(top, handles, title="one line per task")
    note = r"$\alpha_t > 0$: RSC certified at step $t$" + "\n(y axis: symmetric log)"
    legend_outside(
        bottom,
        [
            legend_handle("grey", "o", "none", "one checkpoint of one task"),
            legend_handle("black", None, "-", note),
        ],
    )
    shared, _ = describe_groups([(fixed, rows)], WIDTH)
    set_title(
        top, f"Loss and certified RSC along gradient descent: {plain(fixed.get('model.activation'))}", shared
    )
    return fig


def rsc_fraction_vs_width(frame: pd.DataFrame) -> Figure | None:
    """Figure 6: fraction of GD checkpoints after t = 0 with RSC certified, vs width (V4), or None.

    Points per seed and the mean per width; activations are dodged a little along x so that
    coincident values (often all 1.0) stay visible.
    """
    column = "metric.gd_rsc_certified_fraction"
    groups = sweeps(gd_rows(frame), WIDTH, "gd_rsc_certified_fraction", min_values=1)
    groups = [(f, r[np.isfinite(r[column].astype(float))]) for f, r in groups]
    groups = [(f, r) for f, r in groups if not r.empty]
    if not groups:
        return None
    fig, (ax,) = new_figure()
    shared, labels = describe_groups(groups, WIDTH)
    handles = []
    for index, ((_, rows), label, (colour, marker, style)) in enumerate(
        zip(groups, labels, series_styles(groups), strict=True)
    ):
        dodge = 2.0 ** (0.05 * (index - (len(groups) - 1) / 2))
        widths = rows[WIDTH].astype(float)
        scatter_points(ax, widths * dodge, rows[column].astype(float), colour, marker)
        means = rows[column].astype(float).groupby(widths).mean()
        ax.plot(means.index * dodge, means.to_numpy(), color=colour, linestyle=style, linewidth=1.4)
        handles.append(legend_handle(colour, marker, style, f"{label}: mean over seeds"))
    ax.axhline(0.95, color="black", linestyle="--", linewidth=1.0)
    handles.append(legend_handle("black", None, "--", "0.95: V4 needs this at the largest width"))
    handles.append(legend_handle("grey", "o", "none", "points: one task (seed) each, dodged along x"))
    ax.set_xscale("log")
    width_ticks(ax, pd.concat([r[WIDTH] for _, r in groups]))
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel(WIDTH_LABEL)
    ax.set_ylabel(
        axis_label("gd_rsc_certified_fraction", r"fraction of checkpoints $t > 0$ with RSC certified")
    )
    set_title(ax, "Restricted strong convexity certified along gradient descent", shared)
    legend_outside(ax, handles)
    return fig
