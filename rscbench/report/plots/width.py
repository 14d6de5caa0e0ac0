"""Width-scaling figures: the predictor-Hessian norm at init and along GD, ||g_bar||^2 with the
threshold lines, and the NTK drift, each against width on log-log axes (V1, V3, Q10)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rscbench.analysis.metrics import axis_label, metric_info
from rscbench.analysis.verdicts import ALONG_GD_SUFFIX, sweeps
from rscbench.report.plots.style import (
    WIDTH,
    WIDTH_LABEL,
    Group,
    at_init_rows,
    describe_groups,
    draw_power_fit,
    gd_rows,
    legend_handle,
    legend_outside,
    new_figure,
    plain,
    positive_rows,
    scatter_points,
    series_styles,
    set_title,
    width_ticks,
)

__all__ = [
    "gbar_vs_width",
    "hessian_along_gd_vs_width",
    "hessian_vs_width",
    "ntk_drift_vs_width",
    "ntk_lambda_min_vs_width",
]


def _width_figure(
    groups: list[Group],
    metric: str,
    *,
    what: str,
    ylabel: str,
    seed: int,
    extra: Callable[[Axes, list[Group], list[tuple[Any, str, str]]], list[Line2D]] | None = None,
) -> Figure | None:
    """Log-log metric vs width: points per seed, fitted law and band per group, optional extras."""
    column = f"metric.{metric}"
    groups = [(fixed, positive_rows(rows, WIDTH, column)) for fixed, rows in groups]
    groups = [(fixed, rows) for fixed, rows in groups if not rows.empty]
    if not groups:
        return None
    fig, (ax,) = new_figure()
    shared, labels = describe_groups(groups, WIDTH)
    styles = series_styles(groups)
    handles = []
    fitted = False
    for (_, rows), label, (colour, marker, style) in zip(groups, labels, styles, strict=True):
        scatter_points(ax, rows[WIDTH], rows[column], colour, marker)
        text = draw_power_fit(ax, rows, column, colour, style, seed)
        fitted = fitted or bool(text)
        handles.append(
            legend_handle(colour, marker, style if text else "none", f"{label}: {text}" if text else label)
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    if extra is not None:
        handles += extra(ax, groups, styles)
    note = "points: one task (seed) each" + ("; band: 95% of the bootstrap lines" if fitted else "")
    handles.append(legend_handle("grey", "o", "none", note))
    width_ticks(ax, pd.concat([rows[WIDTH] for _, rows in groups]))
    ax.set_xlabel(WIDTH_LABEL)
    ax.set_ylabel(ylabel)
    set_title(ax, what, shared)
    legend_outside(ax, handles, title=r"power law $C\,m^b$: b [95% CI]" if fitted else None)
    return fig


def _reference_slope(metric: str) -> Callable[[Axes, list[Group], list[Any]], list[Line2D]]:
    """An extra for :func:`_width_figure`: a dashed m^(-1/2) line through the geometric mean of
    ``metric`` at the smallest width."""

    def draw(ax: Axes, groups: list[Group], styles: list[tuple[Any, str, str]]) -> list[Line2D]:
        rows = pd.concat([r for _, r in groups])
        widths = rows[WIDTH].astype(float)
        smallest, largest = widths.min(), widths.max()
        at_smallest = rows.loc[widths == smallest, f"metric.{metric}"].astype(float)
        anchor = float(np.exp(np.log(at_smallest).mean()))
        grid = np.geomspace(smallest, largest, 16)
        ax.plot(grid, anchor * (grid / smallest) ** -0.5, color="black", linestyle="--", linewidth=1.0)
        return [legend_handle("black", None, "--", r"reference slope $-1/2$ ($\propto m^{-1/2}$)")]

    return draw


def hessian_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 1: max-probe predictor-Hessian norm vs width at init (V1), or None without a sweep."""
    groups = sweeps(at_init_rows(frame), WIDTH, "predictor_hessian_max")
    return _width_figure(
        groups,
        "predictor_hessian_max",
        what="Predictor Hessian norm vs width at initialization (fit: $C\\,m^b$)",
        ylabel=axis_label("predictor_hessian_max"),
        seed=seed,
        extra=_reference_slope("predictor_hessian_max"),
    )


def hessian_along_gd_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 1b: the largest max-probe predictor-Hessian norm over GD checkpoints vs width (V1 along GD)."""
    metric = "predictor_hessian_max" + ALONG_GD_SUFFIX
    return _width_figure(
        sweeps(gd_rows(frame), WIDTH, metric),
        metric,
        what="Predictor Hessian norm along GD: the largest over the checkpoints (fit: $C\\,m^b$)",
        ylabel=axis_label(
            "predictor_hessian_max", r"$\max_t$ max-probe $\|\nabla^2_\theta f(\theta_t; x)\|_2$"
        ),
        seed=seed,
        extra=_reference_slope(metric),
    )


def _same_setting(frame: pd.DataFrame, fixed: dict[str, Any]) -> pd.DataFrame:
    """Rows of ``frame`` with the model (any width), data and loss of a sweep's fixed fields."""
    for key, value in fixed.items():
        column = f"spec.{key}"
        matters = key.startswith(("model.", "data.")) or key == "loss"
        if not matters or key == "model.width" or column not in frame:
            continue
        if value is None or (isinstance(value, float) and math.isnan(value)):
            frame = frame[frame[column].isna()]
        else:
            frame = frame[frame[column].astype(str) == str(value)]
    return frame


def _threshold_lines(frame: pd.DataFrame) -> Callable[[Axes, list[Group], list[Any]], list[Line2D]]:
    """Extra artist for figure 3: the theory's threshold c2 / (2 kappa^2 sqrt(m)) per group.

    c2 and kappa are the medians over the tasks that measured ``theorem_c2`` with the group's model,
    data and loss (any width, init or GD); a group without such tasks gets no threshold, and when
    no group has one the legend says so.
    """

    def draw(ax: Axes, groups: list[Group], styles: list[tuple[Any, str, str]]) -> list[Line2D]:
        handles = []
        if "metric.theorem_c2" in frame:
            measured = frame[(frame["status"] == "ok") & frame["metric.theorem_c2"].notna()]
        else:
            measured = frame.iloc[0:0]
        for (fixed, rows), (colour, _, _) in zip(groups, styles, strict=True):
            match = _same_setting(measured, fixed)
            if match.empty:
                continue
            c2 = float(match["metric.theorem_c2"].astype(float).median())
            kappa = float(match["spec.protocol.kappa"].astype(float).median())
            grid = np.geomspace(rows[WIDTH].min(), rows[WIDTH].max(), 16)
            ax.plot(grid, c2 / (2 * kappa**2 * np.sqrt(grid)), color=colour, linestyle="--", linewidth=1.2)
            text = (
                rf"threshold $c_2/(2\kappa^2\sqrt{{m}})$, {plain(fixed.get('model.activation'))}:"
                "\n    "
                rf"$c_2$ = {c2:.3g}, $\kappa$ = {kappa:g} (medians of {len(match)} tasks)"
            )
            handles.append(legend_handle(colour, None, "--", text))
        if not handles:
            handles.append(
                legend_handle(
                    "grey", None, "none", r"threshold $c_2/(2\kappa^2\sqrt{m})$ not drawn: no theorem_c2"
                )
            )
        return handles

    return draw


def gbar_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 3: ||g_bar||^2 at init vs width with the theory's threshold (V3), or None."""
    groups = sweeps(at_init_rows(frame), WIDTH, "g_bar_sqnorm")
    return _width_figure(
        groups,
        "g_bar_sqnorm",
        what=r"Average-gradient condition $\|\bar g\|^2$ vs width at initialization",
        ylabel=axis_label("g_bar_sqnorm"),
        seed=seed,
        extra=_combined(_limit_lines("g_bar_sqnorm"), _threshold_lines(frame)),
    )


def _limit_lines(metric: str) -> Callable[[Axes, list[Group], list[Any]], list[Line2D]]:
    """An extra for :func:`_width_figure`: the infinite-width value of ``metric`` at each width (median
    over the group's tasks of ``metric.<metric>_limit``), dotted with crosses, per group that has it."""

    def draw(ax: Axes, groups: list[Group], styles: list[tuple[Any, str, str]]) -> list[Line2D]:
        drawn = False
        for (_, rows), (colour, _, _) in zip(groups, styles, strict=True):
            column = f"metric.{metric}_limit"
            if column not in rows or rows[column].isna().all():
                continue
            limits = rows[column].astype(float).groupby(rows[WIDTH].astype(float)).median()
            ax.plot(
                limits.index, limits.to_numpy(), color=colour, linestyle=":", marker="x", ms=6, linewidth=1.2
            )
            drawn = True
        if not drawn:
            return []
        text = metric_info(f"{metric}_limit").symbol + r": infinite width at each width's $\sigma_0(m)$"
        return [legend_handle("black", "x", ":", text)]

    return draw


def _combined(*extras: Callable[[Axes, list[Group], list[Any]], list[Line2D]]):
    """Several extras for :func:`_width_figure`, drawn in order."""

    def draw(ax: Axes, groups: list[Group], styles: list[tuple[Any, str, str]]) -> list[Line2D]:
        return [handle for extra in extras for handle in extra(ax, groups, styles)]

    return draw


def ntk_lambda_min_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """lambda_min(K(theta_0)) vs width at init with its infinite-width value per width (Q10), or None."""
    groups = sweeps(at_init_rows(frame), WIDTH, "ntk_lambda_min")
    return _width_figure(
        groups,
        "ntk_lambda_min",
        what="Smallest NTK eigenvalue vs width at initialization, beside its infinite-width limit",
        ylabel=axis_label("ntk_lambda_min"),
        seed=seed,
        extra=_limit_lines("ntk_lambda_min"),
    )


def ntk_drift_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 5: relative NTK drift over the GD run vs width (Q10), or None without GD tasks."""
    groups = sweeps(gd_rows(frame), WIDTH, "gd_ntk_drift", min_values=1)
    return _width_figure(
        groups,
        "gd_ntk_drift",
        what="NTK drift over gradient descent vs width (small drift = lazy training)",
        ylabel=axis_label("gd_ntk_drift"),
        seed=seed,
    )
