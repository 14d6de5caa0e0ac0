"""What every report figure shares: the matplotlib style, colours and markers per activation, axis
labels, titles from the fixed spec fields, fitted lines with their bootstrap bands."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from rscbench.analysis.fits import ScalingFit, fit_scaling
from rscbench.models.activations import ACTIVATIONS

__all__ = [
    "DEPTH",
    "DPI",
    "FIELDS",
    "GD_STEPS",
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "STYLE",
    "WIDTH",
    "WIDTH_LABEL",
    "Group",
    "activation_colour",
    "at_init_rows",
    "describe_groups",
    "draw_power_fit",
    "fit_band",
    "fit_text",
    "gd_rows",
    "legend_handle",
    "legend_outside",
    "new_figure",
    "plain",
    "positive_rows",
    "scatter_points",
    "series_styles",
    "set_title",
    "spec_text",
    "width_ticks",
]

DPI = 150
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "pdf.fonttype": 42,  # embed TrueType so the text stays editable in the PDF
}
WIDTH = "spec.model.width"
DEPTH = "spec.model.depth"
GD_STEPS = "spec.protocol.gd_steps"
PALETTE = matplotlib.colormaps["tab10"].colors
MARKERS = ("o", "s", "^", "v", "D", "P")
LINESTYLES = ("-", "--", "-.", ":")
WIDTH_LABEL = r"width $m$ (neurons)"
# Spec fields named in titles and series labels, with how to print them.
FIELDS: dict[str, Callable[[Any], str]] = {
    "model.activation": lambda v: plain(v),
    "model.depth": lambda v: f"depth L = {v}",
    "model.width": lambda v: f"m = {v}",
    "model.sigma1": lambda v: rf"$\sigma_1$ = {spec_text(v)}",
    "loss": lambda v: f"{plain(v)} loss",
    "data.dataset": lambda v: f"{plain(v)} data",
    "data.n": lambda v: f"n = {v}",
    "data.d": lambda v: f"d = {v}",
    "protocol.gd_steps": lambda v: "at init" if spec_text(v) == "0" else f"GD ({v} steps)",
}

Group = tuple[dict[str, Any], pd.DataFrame]


def plain(value: Any) -> str:
    """A user's text (a dataset path, an activation name) shown as it is in a figure: matplotlib reads
    text between two ``$`` as mathtext, so each ``$`` is escaped."""
    return str(value).replace("$", r"\$")


def spec_text(value: Any) -> str:
    """A spec value as short text: floats with %g, everything else as str."""
    value = value.item() if hasattr(value, "item") else value
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_groups(groups: list[Group], axis: str) -> tuple[str, list[str]]:
    """Text of the fields shared by all groups (for the title) and a label per group (the rest).

    Only the fields in ``FIELDS`` are named; ``axis`` (the swept field) is left out. A field equal
    in every group goes to the title; one that differs goes into each group's label. The
    activation always labels its series, with "(control)" when the theory does not cover it.
    """
    axis_field = axis.removeprefix("spec.")
    keys = [k for k in FIELDS if k != axis_field and any(k in fixed for fixed, _ in groups)]
    shared = [k for k in keys if len({spec_text(fixed.get(k)) for fixed, _ in groups}) == 1]
    title = ", ".join(FIELDS[k](groups[0][0][k]) for k in shared if k != "model.activation")
    labels = []
    for fixed, _ in groups:
        parts = [FIELDS[k](fixed[k]) for k in keys if k not in shared and k in fixed]
        activation = fixed.get("model.activation")
        if activation is not None and "model.activation" in shared:
            parts.insert(0, FIELDS["model.activation"](activation))
        if activation in ACTIVATIONS and not ACTIVATIONS[activation].covered_by_theory:
            parts[0] += " (control)"
        labels.append(", ".join(parts))
    return title, labels


def activation_colour(activation: Any) -> tuple[float, ...]:
    """A colour fixed per activation across every figure (registry order, then a name hash)."""
    names = list(ACTIVATIONS)
    if activation in names:
        return PALETTE[names.index(activation)]
    index = len(names) + sum(map(ord, str(activation)))
    return PALETTE[index % len(PALETTE)]


def series_styles(groups: list[Group]) -> list[tuple[tuple[float, ...], str, str]]:
    """(colour, marker, linestyle) per group: colour by activation, marker/line by repeat count."""
    seen: dict[Any, int] = {}
    out = []
    for fixed, _ in groups:
        activation = fixed.get("model.activation")
        k = seen.get(activation, 0)
        seen[activation] = k + 1
        out.append(
            (activation_colour(activation), MARKERS[k % len(MARKERS)], LINESTYLES[k % len(LINESTYLES)])
        )
    return out


def new_figure(height: float = 4.6, rows: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure on an Agg canvas with ``rows`` stacked axes sharing x."""
    fig = Figure(figsize=(9.0, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def width_ticks(ax: Axes, widths: Iterable[float]) -> None:
    """Label a log width axis at the widths measured (when there are few) as plain integers."""
    values = sorted({float(w) for w in widths})
    if 0 < len(values) <= 10:
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.xaxis.set_minor_locator(NullLocator())


def legend_outside(ax: Axes, handles: list[Line2D], title: str | None = None) -> None:
    """Legend to the right of the axes, so it never hides data."""
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), title=title)


def set_title(ax: Axes, what: str, shared: str) -> None:
    ax.set_title(f"{what}\n{shared}" if shared else what)


def positive_rows(rows: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Rows whose x and y are finite and > 0 (what a log-log plot and a power fit can use)."""
    xs = pd.to_numeric(rows[x], errors="coerce")
    ys = pd.to_numeric(rows[y], errors="coerce")
    keep = np.isfinite(xs) & np.isfinite(ys) & (xs > 0) & (ys > 0)
    return rows.loc[keep]


def at_init_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Tasks without a GD run (gd_steps == 0, or no such spec column)."""
    if GD_STEPS not in frame:
        return frame
    return frame[pd.to_numeric(frame[GD_STEPS], errors="coerce").fillna(0) == 0]


def gd_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Tasks that ran gradient descent (gd_steps > 0)."""
    if GD_STEPS not in frame:
        return frame.iloc[0:0]
    return frame[pd.to_numeric(frame[GD_STEPS], errors="coerce").fillna(0) > 0]


def fit_text(fit: ScalingFit) -> str:
    """'b = -0.49 [-0.51, -0.47]' with the fit's CI, flagged when the fit is inconclusive."""
    text = f"b = {fit.exponent:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}]"
    return text if fit.conclusive else text + " (inconclusive)"


def fit_band(fit: ScalingFit, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Pointwise 2.5/97.5 percentiles of the bootstrap power laws on ``grid`` (None without draws)."""
    if fit.draws is None:
        return None
    draws = fit.draws[np.isfinite(fit.draws).all(axis=1)]
    if len(draws) < 2:
        return None
    lines = draws[:, :1] + draws[:, 1:] * np.log(grid)[None, :]
    low, high = np.percentile(lines, [2.5, 97.5], axis=0)
    return np.exp(low), np.exp(high)


def draw_power_fit(ax: Axes, rows: pd.DataFrame, metric: str, colour: Any, style: str, seed: int) -> str:
    """Fit metric ~ C m^b over seeds, draw the line and its band; return the fit text for the legend.

    Returns "" (and draws nothing) when fewer than 3 widths or 2 seeds are available.
    """
    widths = rows[WIDTH].astype(float).to_numpy()
    if np.unique(widths).size < 3 or rows["spec.seed"].nunique() < 2:
        return ""
    fit = fit_scaling(widths, rows[metric].astype(float).to_numpy(), rows["spec.seed"].to_numpy(), seed=seed)
    grid = np.geomspace(fit.x_min, fit.x_max, 64)
    ax.plot(grid, fit.predict(grid), color=colour, linestyle=style, linewidth=1.6)
    band = fit_band(fit, grid)
    if band is not None:
        ax.fill_between(grid, *band, color=colour, alpha=0.18, linewidth=0)
    return fit_text(fit)


def scatter_points(ax: Axes, x: Any, y: Any, colour: Any, marker: str) -> None:
    """One marker per task (per seed), semi-transparent so coincident seeds stay visible."""
    ax.plot(x, y, linestyle="none", marker=marker, markersize=4.5, color=colour, alpha=0.65)


def legend_handle(colour: Any, marker: str | None, style: str, label: str) -> Line2D:
    """A legend entry: a line and/or marker of the given style."""
    return Line2D([], [], color=colour, marker=marker, linestyle=style, label=label)
