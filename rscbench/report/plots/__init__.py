"""Draw the report's figures (PNG and PDF) from stored task records and GD trajectories.

Each figure is built with matplotlib's object-oriented API on an Agg canvas (no pyplot, no global
backend switch, nothing shown), so it runs headless and never disturbs a caller's own plotting.
Output is deterministic: fits use a fixed bootstrap seed, colours are fixed per activation, and no
timestamp is written into the PDF metadata, so the same records give byte-identical files.

Figures, in the order :func:`write_plots` returns them (a figure whose data are absent is skipped):

* ``hessian_vs_width``: max-probe predictor-Hessian norm vs width at init, log-log, per activation,
  with the power law fitted by :func:`rscbench.analysis.fits.fit_scaling` (bootstrap over seeds), a 95%
  band of the bootstrap lines and the reference slope -1/2 (V1).
* ``hessian_along_gd_vs_width``: the same for the largest norm over each GD run's checkpoints
  (V1 along GD).
* ``hessian_vs_depth``: the same metric vs depth per sigma1, log y, with the per-depth median and
  both candidate laws of :func:`rscbench.analysis.fits.compare_depth_laws` (V2).
* ``gbar_vs_width``: ||g_bar||^2 vs width at init with its fitted law, its infinite-width value at
  each width (rscbench.analysis.references) and the theory's threshold c2 / (2 kappa^2 sqrt(m))
  anchored at the measured c2 (V3).
* ``certificate_threshold``: the init certificate's two terms vs width per family, with their laws
  fitted on widths <= 1024 and extrapolated, m* and its CI band, the observed crossing and the
  theorem's own threshold (V3 m*, V8; rscbench.report.plots.threshold).
* ``gbar_vs_depth``: ||g_bar(theta_0)||^2 vs depth per sigma1, log y, with both candidate laws and
  its infinite-width value per depth (the regime finding behind m*'s growth with depth).
* ``ntk_lambda_min_vs_width``: lambda_min(K(theta_0)) vs width at init beside its infinite-width
  value (Q10).
* ``rsc_along_gd_<activation>``: loss along GD (top) and the certified RSC lower bound at the
  checkpoints (bottom), one line per task coloured by width (V4, V5).
* ``ntk_drift_vs_width``: relative NTK drift over GD vs width (Q10).
* ``rsc_fraction_vs_width``: fraction of certified GD checkpoints vs width, with the 0.95 line (V4).
* ``hessian_density``: the loss Hessian's estimated eigenvalue density per task, from its stored
  bin masses (Q12, stochastic Lanczos quadrature), log y.
* ``regime_map``: every task's primary regime label over the two grid fields that vary most, one
  panel per activation (rscbench.report.plots.regime_map; docs/verdicts.md, Regime labels).

A note on the bands: a band is the pointwise 2.5/97.5 percentiles of ``log C + b log m`` over the
bootstrap draws, a plain percentile band. The CI of b printed in the legend is the fit's own
interval (the small-cluster "expanded" interval of :mod:`rscbench.analysis.fits`), so with few seeds it
is wider than the band's spread of slopes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from rscbench.analysis.verdicts import prepare
from rscbench.report.plots.density import hessian_density
from rscbench.report.plots.depth import gbar_vs_depth, hessian_vs_depth
from rscbench.report.plots.gd import rsc_along_gd, rsc_fraction_vs_width
from rscbench.report.plots.regime_map import regime_map
from rscbench.report.plots.style import DPI, STYLE
from rscbench.report.plots.threshold import certificate_threshold
from rscbench.report.plots.width import (
    gbar_vs_width,
    hessian_along_gd_vs_width,
    hessian_vs_width,
    ntk_drift_vs_width,
    ntk_lambda_min_vs_width,
)

__all__ = ["build_figures", "write_plots"]


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
    frame = prepare(frame, trajectories)
    with matplotlib.rc_context(STYLE):
        built: list[tuple[str, Figure | None]] = [
            ("hessian_vs_width", hessian_vs_width(frame, seed=seed)),
            ("hessian_along_gd_vs_width", hessian_along_gd_vs_width(frame, seed=seed)),
            ("hessian_vs_depth", hessian_vs_depth(frame, seed=seed)),
            ("gbar_vs_width", gbar_vs_width(frame, seed=seed)),
            ("certificate_threshold", certificate_threshold(frame, seed=seed)),
            ("gbar_vs_depth", gbar_vs_depth(frame, seed=seed)),
            ("ntk_lambda_min_vs_width", ntk_lambda_min_vs_width(frame, seed=seed)),
            *rsc_along_gd(frame, trajectories),
            ("ntk_drift_vs_width", ntk_drift_vs_width(frame, seed=seed)),
            ("rsc_fraction_vs_width", rsc_fraction_vs_width(frame)),
            ("hessian_density", hessian_density(frame)),
            ("regime_map", regime_map(frame)),
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
    with matplotlib.rc_context(STYLE):
        for stem, fig in build_figures(frame, trajectories, seed=seed).items():
            png = directory / f"{stem}.png"
            fig.savefig(png, dpi=DPI, metadata={"Software": None})
            fig.savefig(directory / f"{stem}.pdf", metadata={"CreationDate": None})
            paths.append(png)
    return paths
