"""The spectral-density figure (Q12): each task's stochastic-Lanczos-quadrature estimate of the loss
Hessian's eigenvalue density, drawn from its stored bin masses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rscbench.analysis.metrics import axis_label
from rscbench.measure.snapshot import DENSITY_PREFIX
from rscbench.report.plots.style import (
    FIELDS,
    LINESTYLES,
    activation_colour,
    describe_groups,
    legend_outside,
    new_figure,
    set_title,
)

__all__ = ["density_curves", "hessian_density"]

LOW, HIGH = "metric.loss_hessian_density_low", "metric.loss_hessian_density_high"


def density_curves(frame: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(task id, bin edges, density) of every ok task with Q12's bins stored, in frame order.

    The edges (bins + 1, eigenvalue units) split [low, high] into the equal bins the masses were
    recorded in (rscbench.measure.density.SpectralDensity.histogram); the density is each bin's
    mass over its width (per eigenvalue unit; it integrates to 1), NaN where a bin holds no mass.
    """
    columns = sorted(c for c in frame.columns if c.startswith(f"metric.{DENSITY_PREFIX}"))
    if not columns or LOW not in frame or HIGH not in frame:
        return []
    curves = []
    for _, row in frame[frame["status"] == "ok"].iterrows():
        masses = pd.to_numeric(row[columns], errors="coerce").to_numpy(dtype=float)
        low, high = float(row[LOW]), float(row[HIGH])
        if not (np.all(np.isfinite(masses)) and np.isfinite(low) and np.isfinite(high) and high > low):
            continue
        edges = np.linspace(low, high, len(columns) + 1)
        density = masses / np.diff(edges)
        curves.append((str(row["task_id"]), edges, np.where(masses > 0, density, np.nan)))
    return curves


def hessian_density(frame: pd.DataFrame) -> Figure | None:
    """Q12: the estimated eigenvalue density of the loss Hessian per task (log y), one step line per
    task, coloured by activation and styled by the other spec fields that differ; None without Q12."""
    curves = density_curves(frame)
    if not curves:
        return None
    rows = frame.set_index("task_id")
    fixed = [
        {key: rows.at[task_id, f"spec.{key}"] for key in FIELDS if f"spec.{key}" in rows}
        for task_id, _, _ in curves
    ]
    shared, labels = describe_groups([(spec, rows) for spec in fixed], "")
    fig, (ax,) = new_figure()
    styles = {label: LINESTYLES[index % len(LINESTYLES)] for index, label in enumerate(dict.fromkeys(labels))}
    named: set[str] = set()
    for (_, edges, density), spec, label in zip(curves, fixed, labels, strict=True):
        ax.stairs(
            density,
            edges,
            color=activation_colour(spec.get("model.activation")),
            linestyle=styles[label],
            linewidth=1.2,
            baseline=None,
            label=label if label not in named else "_nolegend_",
        )
        named.add(label)
    ax.set_yscale("log")
    ax.set_xlabel(axis_label("loss_hessian_density_low", r"eigenvalue $\lambda$ of the loss Hessian"))
    ax.set_ylabel("spectral density (per eigenvalue unit)")
    set_title(ax, "Spectral density of the loss Hessian (Q12, stochastic Lanczos quadrature)", shared)
    legend_outside(ax, ax.get_legend_handles_labels()[0], title="one line per task")
    return fig
