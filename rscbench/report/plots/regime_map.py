"""The regime map: every task's primary regime label (rscbench.analysis.regimes) over the suite's grid,
one panel per activation, on the two grid fields that vary most among the report's tasks.

A cell holds the tasks that share its two grid values (their seeds and the fields off the axes
pooled); it is coloured by the majority primary label of those with a measured label (a tie goes to
the label first in REGIME_LABELS; a task that measured none of the label's quantities, an init-only
Q1 task say, never outvotes one that did) and, where some of them carry another primary label,
marked ``k/n``: k of its n measured tasks disagree. A cell whose tasks are all unmeasured is grey;
a cell with no task is left blank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from rscbench.analysis.regimes import REGIME_LABELS, regime_table
from rscbench.models.activations import ACTIVATIONS
from rscbench.report.plots.style import DPI, WIDTH, WIDTH_LABEL, plain, spec_text

__all__ = ["LABEL_COLOURS", "MAP_FIELDS", "MapAxes", "map_axes", "map_note", "regime_map"]

LABEL_COLOURS: dict[str, str] = {
    "divergent": "#d62728",
    "no-progress": "#ff7f0e",
    "edge-of-stability": "#9467bd",
    "certified-at-init": "#1a7a1a",
    "certified-along-gd": "#7fcc7f",
    "lazy": "#1f77b4",
    "uncertified": "#c8b88a",
    "unmeasured": "#bbbbbb",
}
"""The colour of each label's cells (every label of REGIME_LABELS has one)."""

MAP_FIELDS: dict[str, str] = {
    "model.width": WIDTH_LABEL + ", log2 scale",
    "model.depth": r"depth $L$ (hidden layers)",
    "model.sigma1": r"$\sigma_1$, log2 scale",
    "data.n": r"training points $n$, log2 scale",
    "data.d": r"input dimension $d$",
    "protocol.lr": r"step size $\eta$, log2 scale",
    "protocol.kappa": r"$\kappa$",
    "protocol.gd_steps": "GD steps",
    "loss": "loss",
    "data.dataset": "dataset",
    "model.arch": "architecture",
}
"""The grid fields a map may put on an axis (ties in how much they vary go to the earlier one), with
their axis labels; the seed is an axis only where fewer than two of these vary."""
_LOG2 = ("model.width", "model.sigma1", "data.n", "protocol.lr")
_SEED = "seed"
_ACTIVATION = "spec.model.activation"


@dataclass(frozen=True)
class MapAxes:
    """The spec fields on a map's x and y axes (``y`` None for a single row), or the ``reason`` there
    is no map (``x`` None)."""

    x: str | None
    y: str | None = None
    reason: str = ""


def _distinct(frame: pd.DataFrame, field: str) -> int:
    """How many values the spec field takes among the tasks (0 where no task has it)."""
    column = f"spec.{field}"
    if column not in frame:
        return 0
    return frame[column].dropna().map(spec_text).nunique()


def map_axes(frame: pd.DataFrame) -> MapAxes:
    """Which two grid fields a regime map of ``frame`` (a store frame) plots, or why there is none.

    The two of MAP_FIELDS with the most distinct values (at least two; the seed where fewer than two
    of them vary), width on x where it is one of them. There is no map without tasks, when every
    task is unmeasured, or when no grid field and no seed varies."""
    if frame.empty:
        return MapAxes(None, reason="no task to map")
    if (regime_table(frame)["regime"] == "unmeasured").all():
        return MapAxes(None, reason="no task measured a regime quantity (the Q6 certificate or a GD run)")
    counts = {field: _distinct(frame, field) for field in MAP_FIELDS}
    varying = sorted((f for f, n in counts.items() if n >= 2), key=lambda f: -counts[f])[:2]
    if len(varying) < 2 and _distinct(frame, _SEED) >= 2:
        varying.append(_SEED)
    if not varying:
        return MapAxes(None, reason="nothing varies: every task has the same grid fields and seed")
    if WIDTH.removeprefix("spec.") in varying:
        varying.sort(key=lambda f: f != WIDTH.removeprefix("spec."))
    return MapAxes(varying[0], varying[1] if len(varying) > 1 else None)


def map_note(frame: pd.DataFrame) -> str:
    """One sentence for the report: what the regime map of ``frame`` plots, or why it is skipped."""
    axes = map_axes(frame)
    if axes.x is None:
        return f"No regime map: {axes.reason}."
    on_y = f" against {axes.y}" if axes.y else ""
    return (
        f"The regime map (plots/regime_map.png and .pdf) shows each task's primary label over {axes.x}"
        f"{on_y}, one panel per activation; tasks sharing a cell are pooled (majority label, k/n: k of "
        "its n measured tasks differ)."
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positions(field: str | None, values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres and edges of an axis's sorted values: log2 of a ratio-scale field, the number
    itself, or the rank of a text value; edges halfway between neighbours."""
    numeric = all(_is_number(v) for v in values)
    if numeric and field in _LOG2 and all(v > 0 for v in values):
        centres = np.log2(np.asarray(values, dtype=float))
    elif numeric:
        centres = np.asarray(values, dtype=float)
    else:
        centres = np.arange(len(values), dtype=float)
    if len(centres) == 1:
        return centres, np.array([centres[0] - 0.5, centres[0] + 0.5])
    middle = (centres[1:] + centres[:-1]) / 2
    first, last = centres[0] - (middle[0] - centres[0]), centres[-1] + (centres[-1] - middle[-1])
    return centres, np.concatenate([[first], middle, [last]])


def _axis_keys(frame: pd.DataFrame, field: str | None) -> tuple[list[Any], list[Any]]:
    """Each task's value of a spec field on an axis (numbers as Python numbers, others as text; one
    value "" for the single row of a map without y) and the axis's sorted distinct values."""
    if field is None:
        return [""] * len(frame), [""]
    values = [v.item() if hasattr(v, "item") else v for v in frame[f"spec.{field}"]]
    if not all(_is_number(v) for v in values):
        values = [spec_text(v) for v in values]
    return values, sorted(set(values))


def _majority(labels: pd.Series) -> tuple[str, int, int]:
    """A cell's label, its measured tasks and how many of them differ: the majority over the tasks
    with a measured label (ties to the earlier label in REGIME_LABELS), "unmeasured" where none is."""
    measured = labels[labels != "unmeasured"]
    if measured.empty:
        return "unmeasured", 0, 0
    counts = measured.value_counts()
    best = max(counts.index, key=lambda label: (counts[label], -REGIME_LABELS.index(label)))
    return best, len(measured), int(len(measured) - counts[best])


def _panel(ax: Axes, rows: pd.DataFrame, axes: MapAxes, xs: list[Any], ys: list[Any]) -> None:
    """One activation's cells (``rows`` with their axis values in ``_x`` and ``_y``): coloured by
    majority label, ``k/n`` where k of n measured tasks disagree."""
    x_centres, x_edges = _positions(axes.x, xs)
    y_centres, y_edges = _positions(axes.y, ys)
    grid = np.ma.masked_all((len(ys), len(xs)))
    for (x, y), cell in rows.groupby(["_x", "_y"])["regime"]:
        i, j = ys.index(y), xs.index(x)
        label, measured, differ = _majority(cell)
        grid[i, j] = REGIME_LABELS.index(label)
        if differ:
            ax.text(x_centres[j], y_centres[i], f"{differ}/{measured}", ha="center", va="center", fontsize=7)
    colours = ListedColormap([LABEL_COLOURS[label] for label in REGIME_LABELS])
    norm = BoundaryNorm(np.arange(len(REGIME_LABELS) + 1) - 0.5, len(REGIME_LABELS))
    ax.pcolormesh(x_edges, y_edges, grid, cmap=colours, norm=norm, edgecolors="white", linewidth=1.0)
    ax.grid(False)
    ax.set_xticks(x_centres, [spec_text(v) for v in xs], rotation=45 if len(xs) > 6 else 0)
    ax.set_xlabel(MAP_FIELDS.get(axes.x, axes.x))
    if axes.y is None:
        ax.set_yticks([])
    else:
        ax.set_yticks(y_centres, [spec_text(v) for v in ys])
        ax.set_ylabel(MAP_FIELDS.get(axes.y, axes.y))


def regime_map(frame: pd.DataFrame) -> Figure | None:
    """The regime map of a store frame: one panel per activation, cells over the two grid fields of
    :func:`map_axes`, coloured by each cell's majority primary label; None where map_axes finds
    nothing to map."""
    axes = map_axes(frame)
    if axes.x is None:
        return None
    rows = frame.assign(regime=regime_table(frame)["regime"].to_numpy())
    placed = [f"spec.{field}" for field in (axes.x, axes.y) if field is not None]
    rows = rows[rows[placed].notna().all(axis=1)]
    (x_keys, xs), (y_keys, ys) = _axis_keys(rows, axes.x), _axis_keys(rows, axes.y)
    rows = rows.assign(_x=x_keys, _y=y_keys)
    names = rows.get(_ACTIVATION, pd.Series(None, rows.index, dtype=object)).fillna("all tasks").map(str)
    panels = sorted(names.unique())
    columns = min(3, len(panels))
    lines = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(9.0, 1.2 + lines * (0.4 * len(ys) + 1.5)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(lines, columns, squeeze=False, sharex=True, sharey=True)
    for index, ax in enumerate(grid.flat):
        if index >= len(panels):
            ax.set_visible(False)
            continue
        activation = panels[index]
        _panel(ax, rows[names == activation], axes, xs, ys)
        control = activation in ACTIVATIONS and not ACTIVATIONS[activation].covered_by_theory
        ax.set_title(plain(activation) + (" (control)" if control else ""))
    shown = [label for label in REGIME_LABELS if label in set(rows["regime"])]
    fig.legend(
        handles=[Patch(color=LABEL_COLOURS[label], label=label) for label in shown],
        loc="outside lower center",
        ncols=min(4, len(shown)),
        title="primary regime label (docs/verdicts.md, Regime labels)",
    )
    fig.suptitle(
        "Regime map: each cell's majority primary label over its seeds and the fields off the axes\n"
        "(unmeasured tasks do not vote); k/n: k of the cell's n measured tasks carry another label; "
        "blank: no task"
    )
    return fig
