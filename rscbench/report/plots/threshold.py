"""The init certificate across its threshold width (V3 m*, V8): one panel per model family.

Each panel draws, against width on log-log axes, the certificate's two terms per seed (the
Gauss-Newton term (min l'') kappa^2 ||g_bar||^2 and -lambda_min(R)), their power laws fitted on the
widths <= V8_LARGEST_FIT_WIDTH and extrapolated (dashed) over the rest, the m* those laws imply with
its 95% CI band, the observed crossing (the smallest width from which the certificate holds in >= 2
of 3 seeds at every wider measured width) and the theorem's own threshold (median over the family's
tasks of Q8's width threshold). Values beyond the drawn range are named in the legend.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rscbench.analysis.verdicts.common import median, sweeps
from rscbench.analysis.verdicts.crossing import V8_LARGEST_FIT_WIDTH, observed_crossing
from rscbench.analysis.verdicts.width import certificate_terms, m_star_from_terms
from rscbench.report.plots.style import DPI, WIDTH, legend_handle, scatter_points, spec_text

__all__ = ["MAX_RANGE_FACTOR", "certificate_threshold"]

MAX_RANGE_FACTOR = 1e3
"""The width axis reaches at most this factor beyond the widest measured width."""
GN_COLOUR, R_COLOUR = "tab:blue", "tab:red"
MSTAR_COLOUR, CROSSING_COLOUR, THEOREM_COLOUR = "tab:purple", "tab:green", "0.35"


def _title(fixed: dict[str, Any]) -> str:
    """The family's fields that tell panels apart (activation, sigma1, depth, loss)."""
    keys = ("model.activation", "model.sigma1", "model.depth", "loss")
    return ", ".join(f"{key.split('.')[-1]} {spec_text(fixed[key])}" for key in keys if key in fixed)


def _law_line(ax: Axes, fit: Any, low: float, split: float, high: float, colour: str) -> None:
    """The fitted power law: solid over the fitted widths, dashed where it is extrapolated."""
    solid = np.geomspace(low, split, 32)
    dashed = np.geomspace(split, high, 32)
    ax.plot(solid, fit.predict(solid), color=colour, linewidth=1.5)
    ax.plot(dashed, fit.predict(dashed), color=colour, linewidth=1.2, linestyle="--")


def _vertical(ax: Axes, width: float, limit: float, colour: str, style: str, label: str) -> Line2D:
    """A vertical line at ``width`` when it is inside the axis (< ``limit``); the legend says which."""
    if math.isfinite(width) and width <= limit:
        ax.axvline(width, color=colour, linestyle=style, linewidth=1.4)
        return legend_handle(colour, None, style, label)
    return legend_handle(colour, None, "none", f"{label} (beyond the axis)")


def _panel(ax: Axes, fixed: dict[str, Any], rows: pd.DataFrame, seed: int) -> None:
    usable, gauss_newton, minus_r = certificate_terms(rows)
    widths = usable[WIDTH].astype(float)
    scatter_points(ax, widths, gauss_newton, GN_COLOUR, "o")
    scatter_points(ax, widths, minus_r, R_COLOUR, "s")
    handles = [
        legend_handle(GN_COLOUR, "o", "none", r"GN term $\min l''\,\kappa^2\|\bar g\|^2$"),
        legend_handle(R_COLOUR, "s", "none", r"$-\lambda_{\min}(R)$"),
    ]
    largest = float(rows[WIDTH].astype(float).max())
    smallest = float(rows[WIDTH].astype(float).min())
    small = rows[rows[WIDTH].astype(float) <= V8_LARGEST_FIT_WIDTH]
    threshold, fit_gn, fit_r, reason = m_star_from_terms(small, seed)
    theorem = median(rows, "metric.theorem_width_threshold")
    crossing, _ = observed_crossing(rows)
    reach = [largest]
    if threshold is not None:
        reach += [value for value in (threshold.m_star, threshold.ci_high) if math.isfinite(value)]
    if math.isfinite(theorem):
        reach.append(theorem)
    limit = min(max(reach) * 1.5, largest * MAX_RANGE_FACTOR)
    if threshold is not None:
        split = float(small[WIDTH].astype(float).max())
        _law_line(ax, fit_gn, smallest, split, limit, GN_COLOUR)
        _law_line(ax, fit_r, smallest, split, limit, R_COLOUR)
        handles.append(legend_handle("0.2", None, "--", f"laws fitted on widths <= {split:g}, extrapolated"))
        low, high = threshold.ci_low, min(threshold.ci_high, limit)
        if math.isfinite(low) and low <= limit:
            ax.axvspan(low, high, color=MSTAR_COLOUR, alpha=0.12, linewidth=0)
        label = f"m* = {threshold.m_star:.3g}, 95% CI [{threshold.ci_low:.3g}, {threshold.ci_high:.3g}]"
        handles.append(_vertical(ax, threshold.m_star, limit, MSTAR_COLOUR, "-", label))
    else:
        handles.append(legend_handle(MSTAR_COLOUR, None, "none", f"no m*: {reason or 'too few widths'}"))
    if crossing is not None:
        label = f"observed crossing {crossing:g}"
        handles.append(_vertical(ax, crossing, limit, CROSSING_COLOUR, "-", label))
    else:
        handles.append(legend_handle(CROSSING_COLOUR, None, "none", f"no crossing up to width {largest:g}"))
    if math.isfinite(theorem):
        label = f"theorem's threshold {theorem:.3g}"
        handles.append(_vertical(ax, theorem, limit, THEOREM_COLOUR, ":", label))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(smallest / 1.5, limit)
    ax.set_xlabel("width m")
    ax.set_ylabel("certificate term (loss units)")
    ax.set_title(_title(fixed))
    ax.legend(handles=handles, loc="best", fontsize=6.5)


def certificate_threshold(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """The certificate's two terms vs width with m*, its CI, the observed crossing and the theorem's
    threshold, one panel per family with at least 3 widths (None when no family has them)."""
    if "metric.rsc_lambda_min_R" not in frame:
        return None
    families = sweeps(frame, WIDTH, "rsc_lambda_min_R", min_values=3)
    families = [(fixed, rows) for fixed, rows in families if not certificate_terms(rows)[0].empty]
    if not families:
        return None
    columns = 2 if len(families) > 1 else 1
    rows_count = math.ceil(len(families) / columns)
    fig = Figure(figsize=(6.2 * columns, 4.4 * rows_count), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows_count, columns, squeeze=False).ravel()
    for ax, (fixed, rows) in zip(axes, families, strict=False):
        _panel(ax, fixed, rows, seed)
    for ax in axes[len(families) :]:
        ax.set_visible(False)
    fig.suptitle("Init certificate across its threshold width: terms, extrapolated m*, observed crossing")
    return fig
