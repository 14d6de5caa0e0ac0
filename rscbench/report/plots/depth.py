"""Depth figures: the predictor-Hessian norm and ||g_bar(theta_0)||^2 against depth per sigma1,
with both candidate laws (power and exponential) and the per-layer factor (V2, V3 depth)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rscbench.analysis.fits import compare_depth_laws
from rscbench.analysis.metrics import axis_label, metric_info
from rscbench.analysis.verdicts import sweeps
from rscbench.report.plots.style import (
    DEPTH,
    PALETTE,
    at_init_rows,
    describe_groups,
    fit_text,
    legend_handle,
    legend_outside,
    new_figure,
    positive_rows,
    scatter_points,
    set_title,
)

__all__ = ["gbar_vs_depth", "hessian_vs_depth"]


def hessian_vs_depth(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 2: max-probe predictor-Hessian norm vs depth per sigma1 (V2), or None without a sweep."""
    return _depth_figure(
        frame,
        "predictor_hessian_max",
        ylabel=axis_label("predictor_hessian_max"),
        what="Predictor Hessian norm vs depth (polynomial or exponential growth?)",
        seed=seed,
    )


def gbar_vs_depth(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 3b: ||g_bar(theta_0)||^2 vs depth per sigma1 (V3's per-layer factor), or None."""
    return _depth_figure(
        at_init_rows(frame),
        "g_bar_sqnorm",
        ylabel=axis_label("g_bar_sqnorm"),
        what="Average-gradient norm vs depth, beside its infinite-width limit (why m* grows with depth)",
        seed=seed,
    )


def _depth_figure(frame: pd.DataFrame, metric: str, *, ylabel: str, what: str, seed: int) -> Figure | None:
    """A metric vs depth per sigma1 on a log y axis, or None without a depth sweep.

    Points per seed, the median per depth, and both laws of :func:`compare_depth_laws` (exponential
    solid, power dotted) with the one the AIC prefers marked.
    """
    column = f"metric.{metric}"
    groups = [(f, positive_rows(r, DEPTH, column)) for f, r in sweeps(frame, DEPTH, metric)]
    groups = [(f, r) for f, r in groups if r[DEPTH].nunique() >= 3]
    if not groups:
        return None
    fig, (ax,) = new_figure()
    shared, labels = describe_groups(groups, DEPTH)
    handles = []
    for index, ((_, rows), label) in enumerate(zip(groups, labels, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        depth = rows[DEPTH].astype(float)
        values = rows[column].astype(float)
        scatter_points(ax, depth, values, colour, "o")
        medians = values.groupby(depth).median()
        ax.plot(medians.index, medians.to_numpy(), linestyle="none", marker="D", ms=7, color=colour, mec="k")
        handles.append(
            legend_handle(colour, "D", "none", f"{label}: median over seeds (dots: one seed each)")
        )
        limit = f"{column}_limit"
        if limit in rows and rows[limit].notna().all():
            limits = rows[limit].astype(float).groupby(depth).median()
            ax.plot(
                limits.index, limits.to_numpy(), color=colour, linestyle="--", marker="x", ms=7, linewidth=1.0
            )
            symbol = metric_info(f"{metric}_limit").symbol
            handles.append(legend_handle(colour, "x", "--", f"  {symbol} at infinite width (recursion)"))
        if rows["spec.seed"].nunique() < 2:
            continue
        choice = compare_depth_laws(depth, values, rows["spec.seed"], seed=seed, min_depths=3)
        grid = np.linspace(depth.min(), depth.max(), 64)
        preferred = {choice.preferred: " (AIC prefers)"}
        expo, power = choice.exponential, choice.power
        ax.plot(grid, expo.predict(grid), color=colour, linestyle="-", linewidth=1.5)
        ax.plot(grid, power.predict(grid), color=colour, linestyle=":", linewidth=1.5)
        low, high = math.exp(expo.ci_low), math.exp(expo.ci_high)
        factor = f"×{math.exp(expo.exponent):.3g} per layer [{low:.3g}, {high:.3g}]"
        handles.append(
            legend_handle(
                colour, None, "-", f"  exponential $C e^{{cL}}$: {factor}{preferred.get('exponential', '')}"
            )
        )
        handles.append(
            legend_handle(
                colour, None, ":", f"  power $C L^b$: {fit_text(power)}{preferred.get('power', '')}"
            )
        )
    ax.set_yscale("log")
    depths = sorted(pd.concat([r[DEPTH] for _, r in groups]).astype(int).unique())
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.set_xlabel(r"depth $L$ (hidden layers)")
    ax.set_ylabel(ylabel)
    set_title(ax, what, shared)
    legend_outside(ax, handles, title="fits with 95% CI")
    return fig
