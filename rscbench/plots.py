"""Draw the report's figures (PNG and PDF) from stored task records and GD trajectories.

Each figure is built with matplotlib's object-oriented API on an Agg canvas (no pyplot, no global
backend switch, nothing shown), so it runs headless and never disturbs a caller's own plotting.
Output is deterministic: fits use a fixed bootstrap seed, colours are fixed per activation, and no
timestamp is written into the PDF metadata, so the same records give byte-identical files.

Figures, in the order :func:`write_plots` returns them (a figure whose data are absent is skipped):

* ``hessian_vs_width``: max-probe predictor-Hessian norm vs width at init, log-log, per activation,
  with the power law fitted by :func:`rscbench.stats.fit_scaling` (bootstrap over seeds), a 95%
  band of the bootstrap lines and the reference slope -1/2 (V1).
* ``hessian_along_gd_vs_width``: the same for the largest norm over each GD run's checkpoints
  (V1 along GD).
* ``hessian_vs_depth``: the same metric vs depth per sigma1, log y, with the per-depth median and
  both candidate laws of :func:`rscbench.stats.compare_depth_laws` (V2).
* ``gbar_vs_width``: ||g_bar||^2 vs width at init with its fitted law and the theory's threshold
  c2 / (2 kappa^2 sqrt(m)) anchored at the measured c2 (V3).
* ``gbar_vs_depth``: ||g_bar(theta_0)||^2 vs depth per sigma1, log y, with both candidate laws
  (V3's per-layer factor).
* ``rsc_along_gd_<activation>``: loss along GD (top) and the certified RSC lower bound at the
  checkpoints (bottom), one line per task coloured by width (V4, V5).
* ``ntk_drift_vs_width``: relative NTK drift over GD vs width (Q10).
* ``rsc_fraction_vs_width``: fraction of certified GD checkpoints vs width, with the 0.95 line (V4).

A note on the bands: a band is the pointwise 2.5/97.5 percentiles of ``log C + b log m`` over the
bootstrap draws, a plain percentile band. The CI of b printed in the legend is the fit's own
interval (the small-cluster "expanded" interval of :mod:`rscbench.stats`), so with few seeds it
is wider than the band's spread of slopes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from rscbench.activations import ACTIVATIONS
from rscbench.stats import ScalingFit, compare_depth_laws, fit_scaling
from rscbench.verdicts import ALONG_GD_SUFFIX, sweeps, with_along_gd

__all__ = ["build_figures", "write_plots"]

_DPI = 150
_STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "pdf.fonttype": 42,  # embed TrueType so the text stays editable in the PDF
}
_WIDTH = "spec.model.width"
_DEPTH = "spec.model.depth"
_GD_STEPS = "spec.protocol.gd_steps"
_PALETTE = matplotlib.colormaps["tab10"].colors
_MARKERS = ("o", "s", "^", "v", "D", "P")
_LINESTYLES = ("-", "--", "-.", ":")
_UNITLESS = "(dimensionless)"
_HESSIAN_LABEL = r"max-probe $\|\nabla^2_\theta f(\theta_0; x)\|_2$ " + _UNITLESS
_WIDTH_LABEL = r"width $m$ (neurons)"
# Spec fields named in titles and series labels, with how to print them.
_FIELDS: dict[str, Callable[[Any], str]] = {
    "model.activation": str,
    "model.depth": lambda v: f"depth L = {v}",
    "model.width": lambda v: f"m = {v}",
    "model.sigma1": lambda v: rf"$\sigma_1$ = {_number(v)}",
    "loss": lambda v: f"{v} loss",
    "data.dataset": lambda v: f"{v} data",
    "data.n": lambda v: f"n = {v}",
    "data.d": lambda v: f"d = {v}",
    "protocol.gd_steps": lambda v: "at init" if _number(v) == "0" else f"GD ({v} steps)",
}

Group = tuple[dict[str, Any], pd.DataFrame]


# ----------------------------------------------------------------------------------------------
# labelling and styling helpers


def _number(value: Any) -> str:
    """A spec value as short text: floats with %g, everything else as str."""
    value = value.item() if hasattr(value, "item") else value
    return f"{value:g}" if isinstance(value, float) else str(value)


def _describe(groups: list[Group], axis: str) -> tuple[str, list[str]]:
    """Text of the fields shared by all groups (for the title) and a label per group (the rest).

    Only the fields in ``_FIELDS`` are named; ``axis`` (the swept field) is left out. A field equal
    in every group goes to the title; one that differs goes into each group's label. The
    activation always labels its series, with "(control)" when the theory does not cover it.
    """
    axis_field = axis.removeprefix("spec.")
    keys = [k for k in _FIELDS if k != axis_field and any(k in fixed for fixed, _ in groups)]
    shared = [k for k in keys if len({_number(fixed.get(k)) for fixed, _ in groups}) == 1]
    title = ", ".join(_FIELDS[k](groups[0][0][k]) for k in shared if k != "model.activation")
    labels = []
    for fixed, _ in groups:
        parts = [_FIELDS[k](fixed[k]) for k in keys if k not in shared and k in fixed]
        activation = fixed.get("model.activation")
        if activation is not None and "model.activation" in shared:
            parts.insert(0, _FIELDS["model.activation"](activation))
        if activation in ACTIVATIONS and not ACTIVATIONS[activation].covered_by_theory:
            parts[0] += " (control)"
        labels.append(", ".join(parts))
    return title, labels


def _activation_colour(activation: Any) -> tuple[float, ...]:
    """A colour fixed per activation across every figure (registry order, then a name hash)."""
    names = list(ACTIVATIONS)
    if activation in names:
        return _PALETTE[names.index(activation)]
    index = len(names) + sum(map(ord, str(activation)))
    return _PALETTE[index % len(_PALETTE)]


def _styles(groups: list[Group]) -> list[tuple[tuple[float, ...], str, str]]:
    """(colour, marker, linestyle) per group: colour by activation, marker/line by repeat count."""
    seen: dict[Any, int] = {}
    out = []
    for fixed, _ in groups:
        activation = fixed.get("model.activation")
        k = seen.get(activation, 0)
        seen[activation] = k + 1
        out.append(
            (_activation_colour(activation), _MARKERS[k % len(_MARKERS)], _LINESTYLES[k % len(_LINESTYLES)])
        )
    return out


def _new_figure(height: float = 4.6, rows: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure on an Agg canvas with ``rows`` stacked axes sharing x."""
    fig = Figure(figsize=(9.0, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def _width_ticks(ax: Axes, widths: Iterable[float]) -> None:
    """Label a log width axis at the widths measured (when there are few) as plain integers."""
    values = sorted({float(w) for w in widths})
    if 0 < len(values) <= 10:
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.xaxis.set_minor_locator(NullLocator())


def _legend_outside(ax: Axes, handles: list[Line2D], title: str | None = None) -> None:
    """Legend to the right of the axes, so it never hides data."""
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), title=title)


def _set_title(ax: Axes, what: str, shared: str) -> None:
    ax.set_title(f"{what}\n{shared}" if shared else what)


def _positive(rows: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Rows whose x and y are finite and > 0 (what a log-log plot and a power fit can use)."""
    xs = pd.to_numeric(rows[x], errors="coerce")
    ys = pd.to_numeric(rows[y], errors="coerce")
    keep = np.isfinite(xs) & np.isfinite(ys) & (xs > 0) & (ys > 0)
    return rows.loc[keep]


def _at_init(frame: pd.DataFrame) -> pd.DataFrame:
    """Tasks without a GD run (gd_steps == 0, or no such spec column)."""
    if _GD_STEPS not in frame:
        return frame
    return frame[pd.to_numeric(frame[_GD_STEPS], errors="coerce").fillna(0) == 0]


def _with_gd(frame: pd.DataFrame) -> pd.DataFrame:
    """Tasks that ran gradient descent (gd_steps > 0)."""
    if _GD_STEPS not in frame:
        return frame.iloc[0:0]
    return frame[pd.to_numeric(frame[_GD_STEPS], errors="coerce").fillna(0) > 0]


def _fit_text(fit: ScalingFit) -> str:
    """'b = -0.49 [-0.51, -0.47]' with the fit's CI, flagged when the fit is inconclusive."""
    text = f"b = {fit.exponent:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}]"
    return text if fit.conclusive else text + " (inconclusive)"


def _band(fit: ScalingFit, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Pointwise 2.5/97.5 percentiles of the bootstrap power laws on ``grid`` (None without draws)."""
    if fit.draws is None:
        return None
    draws = fit.draws[np.isfinite(fit.draws).all(axis=1)]
    if len(draws) < 2:
        return None
    lines = draws[:, :1] + draws[:, 1:] * np.log(grid)[None, :]
    low, high = np.percentile(lines, [2.5, 97.5], axis=0)
    return np.exp(low), np.exp(high)


def _draw_power_fit(ax: Axes, rows: pd.DataFrame, metric: str, colour: Any, style: str, seed: int) -> str:
    """Fit metric ~ C m^b over seeds, draw the line and its band; return the fit text for the legend.

    Returns "" (and draws nothing) when fewer than 3 widths or 2 seeds are available.
    """
    widths = rows[_WIDTH].astype(float).to_numpy()
    if np.unique(widths).size < 3 or rows["spec.seed"].nunique() < 2:
        return ""
    fit = fit_scaling(widths, rows[metric].astype(float).to_numpy(), rows["spec.seed"].to_numpy(), seed=seed)
    grid = np.geomspace(fit.x_min, fit.x_max, 64)
    ax.plot(grid, fit.predict(grid), color=colour, linestyle=style, linewidth=1.6)
    band = _band(fit, grid)
    if band is not None:
        ax.fill_between(grid, *band, color=colour, alpha=0.18, linewidth=0)
    return _fit_text(fit)


def _points(ax: Axes, x: Any, y: Any, colour: Any, marker: str) -> None:
    """One marker per task (per seed), semi-transparent so coincident seeds stay visible."""
    ax.plot(x, y, linestyle="none", marker=marker, markersize=4.5, color=colour, alpha=0.65)


def _handle(colour: Any, marker: str | None, style: str, label: str) -> Line2D:
    """A legend entry: a line and/or marker of the given style."""
    return Line2D([], [], color=colour, marker=marker, linestyle=style, label=label)


# ----------------------------------------------------------------------------------------------
# width scaling figures (1, 3, 5)


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
    groups = [(fixed, _positive(rows, _WIDTH, column)) for fixed, rows in groups]
    groups = [(fixed, rows) for fixed, rows in groups if not rows.empty]
    if not groups:
        return None
    fig, (ax,) = _new_figure()
    shared, labels = _describe(groups, _WIDTH)
    styles = _styles(groups)
    handles = []
    fitted = False
    for (_, rows), label, (colour, marker, style) in zip(groups, labels, styles, strict=True):
        _points(ax, rows[_WIDTH], rows[column], colour, marker)
        text = _draw_power_fit(ax, rows, column, colour, style, seed)
        fitted = fitted or bool(text)
        handles.append(
            _handle(colour, marker, style if text else "none", f"{label}: {text}" if text else label)
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    if extra is not None:
        handles += extra(ax, groups, styles)
    note = "points: one task (seed) each" + ("; band: 95% of the bootstrap lines" if fitted else "")
    handles.append(_handle("grey", "o", "none", note))
    _width_ticks(ax, pd.concat([rows[_WIDTH] for _, rows in groups]))
    ax.set_xlabel(_WIDTH_LABEL)
    ax.set_ylabel(ylabel)
    _set_title(ax, what, shared)
    _legend_outside(ax, handles, title=r"power law $C\,m^b$: b [95% CI]" if fitted else None)
    return fig


def _reference_slope(metric: str) -> Callable[[Axes, list[Group], list[Any]], list[Line2D]]:
    """An extra for :func:`_width_figure`: a dashed m^(-1/2) line through the geometric mean of
    ``metric`` at the smallest width."""

    def draw(ax: Axes, groups: list[Group], styles: list[tuple[Any, str, str]]) -> list[Line2D]:
        rows = pd.concat([r for _, r in groups])
        widths = rows[_WIDTH].astype(float)
        smallest, largest = widths.min(), widths.max()
        at_smallest = rows.loc[widths == smallest, f"metric.{metric}"].astype(float)
        anchor = float(np.exp(np.log(at_smallest).mean()))
        grid = np.geomspace(smallest, largest, 16)
        ax.plot(grid, anchor * (grid / smallest) ** -0.5, color="black", linestyle="--", linewidth=1.0)
        return [_handle("black", None, "--", r"reference slope $-1/2$ ($\propto m^{-1/2}$)")]

    return draw


def _hessian_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 1: max-probe predictor-Hessian norm vs width at init (V1), or None without a sweep."""
    groups = sweeps(_at_init(frame), _WIDTH, "predictor_hessian_max")
    return _width_figure(
        groups,
        "predictor_hessian_max",
        what="Predictor Hessian norm vs width at initialization (fit: $C\\,m^b$)",
        ylabel=_HESSIAN_LABEL,
        seed=seed,
        extra=_reference_slope("predictor_hessian_max"),
    )


def _hessian_along_gd_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 1b: the largest max-probe predictor-Hessian norm over GD checkpoints vs width (V1 along GD)."""
    metric = "predictor_hessian_max" + ALONG_GD_SUFFIX
    return _width_figure(
        sweeps(_with_gd(frame), _WIDTH, metric),
        metric,
        what="Predictor Hessian norm along GD: the largest over the checkpoints (fit: $C\\,m^b$)",
        ylabel=r"$\max_t$ max-probe $\|\nabla^2_\theta f(\theta_t; x)\|_2$ " + _UNITLESS,
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
            grid = np.geomspace(rows[_WIDTH].min(), rows[_WIDTH].max(), 16)
            ax.plot(grid, c2 / (2 * kappa**2 * np.sqrt(grid)), color=colour, linestyle="--", linewidth=1.2)
            text = (
                rf"threshold $c_2/(2\kappa^2\sqrt{{m}})$, {fixed.get('model.activation')}:"
                "\n    "
                rf"$c_2$ = {c2:.3g}, $\kappa$ = {kappa:g} (medians of {len(match)} tasks)"
            )
            handles.append(_handle(colour, None, "--", text))
        if not handles:
            handles.append(
                _handle("grey", None, "none", r"threshold $c_2/(2\kappa^2\sqrt{m})$ not drawn: no theorem_c2")
            )
        return handles

    return draw


def _gbar_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 3: ||g_bar||^2 at init vs width with the theory's threshold (V3), or None."""
    groups = sweeps(_at_init(frame), _WIDTH, "g_bar_sqnorm")
    return _width_figure(
        groups,
        "g_bar_sqnorm",
        what=r"Average-gradient condition $\|\bar g\|^2$ vs width at initialization",
        ylabel=r"$\|\bar g(\theta_0)\|_2^2$ " + _UNITLESS,
        seed=seed,
        extra=_threshold_lines(frame),
    )


def _ntk_drift_vs_width(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 5: relative NTK drift over the GD run vs width (Q10), or None without GD tasks."""
    groups = sweeps(_with_gd(frame), _WIDTH, "gd_ntk_drift", min_values=1)
    return _width_figure(
        groups,
        "gd_ntk_drift",
        what="NTK drift over gradient descent vs width (small drift = lazy training)",
        ylabel=r"$\|K_T - K_0\|_F / \|K_0\|_F$ " + _UNITLESS,
        seed=seed,
    )


# ----------------------------------------------------------------------------------------------
# depth (2)


def _hessian_vs_depth(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 2: max-probe predictor-Hessian norm vs depth per sigma1 (V2), or None without a sweep."""
    return _depth_figure(
        frame,
        "predictor_hessian_max",
        ylabel=_HESSIAN_LABEL,
        what="Predictor Hessian norm vs depth (polynomial or exponential growth?)",
        seed=seed,
    )


def _gbar_vs_depth(frame: pd.DataFrame, *, seed: int = 0) -> Figure | None:
    """Figure 3b: ||g_bar(theta_0)||^2 vs depth per sigma1 (V3's per-layer factor), or None."""
    return _depth_figure(
        _at_init(frame),
        "g_bar_sqnorm",
        ylabel=r"$\|\bar g(\theta_0)\|_2^2$ " + _UNITLESS,
        what="Average-gradient norm vs depth (does it vanish exponentially?)",
        seed=seed,
    )


def _depth_figure(frame: pd.DataFrame, metric: str, *, ylabel: str, what: str, seed: int) -> Figure | None:
    """A metric vs depth per sigma1 on a log y axis, or None without a depth sweep.

    Points per seed, the median per depth, and both laws of :func:`compare_depth_laws` (exponential
    solid, power dotted) with the one the AIC prefers marked.
    """
    column = f"metric.{metric}"
    groups = [(f, _positive(r, _DEPTH, column)) for f, r in sweeps(frame, _DEPTH, metric)]
    groups = [(f, r) for f, r in groups if r[_DEPTH].nunique() >= 3]
    if not groups:
        return None
    fig, (ax,) = _new_figure()
    shared, labels = _describe(groups, _DEPTH)
    handles = []
    for index, ((_, rows), label) in enumerate(zip(groups, labels, strict=True)):
        colour = _PALETTE[index % len(_PALETTE)]
        depth = rows[_DEPTH].astype(float)
        values = rows[column].astype(float)
        _points(ax, depth, values, colour, "o")
        medians = values.groupby(depth).median()
        ax.plot(medians.index, medians.to_numpy(), linestyle="none", marker="D", ms=7, color=colour, mec="k")
        handles.append(_handle(colour, "D", "none", f"{label}: median over seeds (dots: one seed each)"))
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
            _handle(
                colour, None, "-", f"  exponential $C e^{{cL}}$: {factor}{preferred.get('exponential', '')}"
            )
        )
        handles.append(
            _handle(colour, None, ":", f"  power $C L^b$: {_fit_text(power)}{preferred.get('power', '')}")
        )
    ax.set_yscale("log")
    depths = sorted(pd.concat([r[_DEPTH] for _, r in groups]).astype(int).unique())
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.set_xlabel(r"depth $L$ (hidden layers)")
    ax.set_ylabel(ylabel)
    _set_title(ax, what, shared)
    _legend_outside(ax, handles, title="fits with 95% CI")
    return fig


# ----------------------------------------------------------------------------------------------
# gradient descent (4, 6)


def _rsc_along_gd(frame: pd.DataFrame, trajectories: pd.DataFrame) -> list[tuple[str, Figure]]:
    """Figure 4, one per GD group (activation): loss along GD and the certified RSC lower bound.

    Returns (file stem, figure) pairs, stems ``rsc_along_gd_<activation>`` (with ``_<k>`` when one
    activation has several GD groups); empty without GD tasks or their trajectories.
    """
    needed = {"task_id", "step", "loss"}
    if trajectories.empty or not needed <= set(trajectories.columns):
        return []
    groups = sweeps(_with_gd(frame), _WIDTH, "gd_steps_taken", min_values=1)
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
    fig, (top, bottom) = _new_figure(height=6.4, rows=2)
    widths = sorted(rows[_WIDTH].astype(float).unique())
    cmap = matplotlib.colormaps["viridis"]
    colour = {w: cmap(0.85 * i / max(len(widths) - 1, 1)) for i, w in enumerate(widths)}
    ordered = rows.sort_values([_WIDTH, "spec.seed"])
    certified: list[np.ndarray] = []
    for task_id, width in zip(ordered["task_id"], ordered[_WIDTH].astype(float), strict=True):
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
    top.set_ylabel(r"training loss $\mathcal{L}(\theta_t)$ " + _UNITLESS)
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
    bottom.set_ylabel("certified RSC lower bound\n" + r"$\alpha_t$ at checkpoints " + _UNITLESS)
    bottom.set_xlabel(r"GD step $t$ (iterations)")
    counts = rows[_WIDTH].astype(float).value_counts()
    handles = [_handle(colour[w], "o", "-", f"m = {w:g} ({counts[w]} seeds)") for w in widths]
    _legend_outside(top, handles, title="one line per task")
    note = r"$\alpha_t > 0$: RSC certified at step $t$" + "\n(y axis: symmetric log)"
    _legend_outside(
        bottom,
        [_handle("grey", "o", "none", "one checkpoint of one task"), _handle("black", None, "-", note)],
    )
    shared, _ = _describe([(fixed, rows)], _WIDTH)
    _set_title(top, f"Loss and certified RSC along gradient descent: {fixed.get('model.activation')}", shared)
    return fig


def _rsc_fraction_vs_width(frame: pd.DataFrame) -> Figure | None:
    """Figure 6: fraction of GD checkpoints after t = 0 with RSC certified, vs width (V4), or None.

    Points per seed and the mean per width; activations are dodged a little along x so that
    coincident values (often all 1.0) stay visible.
    """
    column = "metric.gd_rsc_certified_fraction"
    groups = sweeps(_with_gd(frame), _WIDTH, "gd_rsc_certified_fraction", min_values=1)
    groups = [(f, r[np.isfinite(r[column].astype(float))]) for f, r in groups]
    groups = [(f, r) for f, r in groups if not r.empty]
    if not groups:
        return None
    fig, (ax,) = _new_figure()
    shared, labels = _describe(groups, _WIDTH)
    handles = []
    for index, ((_, rows), label, (colour, marker, style)) in enumerate(
        zip(groups, labels, _styles(groups), strict=True)
    ):
        dodge = 2.0 ** (0.05 * (index - (len(groups) - 1) / 2))
        widths = rows[_WIDTH].astype(float)
        _points(ax, widths * dodge, rows[column].astype(float), colour, marker)
        means = rows[column].astype(float).groupby(widths).mean()
        ax.plot(means.index * dodge, means.to_numpy(), color=colour, linestyle=style, linewidth=1.4)
        handles.append(_handle(colour, marker, style, f"{label}: mean over seeds"))
    ax.axhline(0.95, color="black", linestyle="--", linewidth=1.0)
    handles.append(_handle("black", None, "--", "0.95: V4 needs this at the largest width"))
    handles.append(_handle("grey", "o", "none", "points: one task (seed) each, dodged along x"))
    ax.set_xscale("log")
    _width_ticks(ax, pd.concat([r[_WIDTH] for _, r in groups]))
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel(_WIDTH_LABEL)
    ax.set_ylabel(r"fraction of checkpoints $t > 0$ with RSC certified " + _UNITLESS)
    _set_title(ax, "Restricted strong convexity certified along gradient descent", shared)
    _legend_outside(ax, handles)
    return fig


# ----------------------------------------------------------------------------------------------
# public entry points


def build_figures(frame: pd.DataFrame, trajectories: pd.DataFrame, *, seed: int = 0) -> dict[str, Figure]:
    """Every figure the data allow, keyed by file stem, in the order of the module docstring.

    Args:
        frame: :meth:`rscbench.store.ResultStore.to_frame` (one row per task).
        trajectories: :meth:`rscbench.store.ResultStore.trajectory_frame` (one row per GD step).
        seed: seed of every bootstrap behind a fitted line or band.

    Returns:
        Stem -> matplotlib Figure (on an Agg canvas); figures without data are absent.
    """
    if frame.empty or "status" not in frame:
        return {}
    frame = with_along_gd(frame, trajectories, "predictor_hessian_max")
    with matplotlib.rc_context(_STYLE):
        built: list[tuple[str, Figure | None]] = [
            ("hessian_vs_width", _hessian_vs_width(frame, seed=seed)),
            ("hessian_along_gd_vs_width", _hessian_along_gd_vs_width(frame, seed=seed)),
            ("hessian_vs_depth", _hessian_vs_depth(frame, seed=seed)),
            ("gbar_vs_width", _gbar_vs_width(frame, seed=seed)),
            ("gbar_vs_depth", _gbar_vs_depth(frame, seed=seed)),
            *_rsc_along_gd(frame, trajectories),
            ("ntk_drift_vs_width", _ntk_drift_vs_width(frame, seed=seed)),
            ("rsc_fraction_vs_width", _rsc_fraction_vs_width(frame)),
        ]
    return {stem: fig for stem, fig in built if fig is not None}


def write_plots(
    frame: pd.DataFrame, trajectories: pd.DataFrame, directory: Path, *, seed: int = 0
) -> list[Path]:
    """Write every figure the data allow as ``<stem>.png`` (150 dpi) and ``<stem>.pdf`` in ``directory``.

    The directory is created if needed. Figures whose data are absent are skipped, not drawn
    empty. Output is byte-identical for the same input (fixed seeds, no dates in the metadata).

    Returns:
        The PNG paths, in the order of the module docstring (``rsc_along_gd_*`` by activation).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context(_STYLE):
        for stem, fig in build_figures(frame, trajectories, seed=seed).items():
            png = directory / f"{stem}.png"
            fig.savefig(png, dpi=_DPI, metadata={"Software": None})
            fig.savefig(directory / f"{stem}.pdf", metadata={"CreationDate": None})
            paths.append(png)
    return paths
