"""The report's tables beside the verdicts, as data frames built from the stored records: every requested
quantity's measurements, the measured values against their infinite-width limits, every estimate
that missed its tolerance, and the count of each regime label per experiment. rscbench.report.render
prints them; report.json stores the first three (each task's regime labels are in its entry)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rscbench.analysis.metrics import QUANTITY_TITLES, column_label, metric_info, quantity_metrics
from rscbench.analysis.regimes import REGIME_LABELS, regime_table

__all__ = [
    "SETTING",
    "measurement_tables",
    "reference_table",
    "regime_counts",
    "requested_quantities",
    "unconverged_estimates",
]

SETTING = (
    "spec.model.arch",
    "spec.model.activation",
    "spec.model.sigma1",
    "spec.model.depth",
    "spec.model.width",
    "spec.loss",
    "spec.data.dataset",
    "spec.protocol.gd_steps",
    "spec.protocol.optimizer",
    "spec.protocol.lr",
    "spec.protocol.batch_size",
    "spec.protocol.lr_schedule",
    "spec.protocol.momentum",
)
"""The spec fields a table row is keyed by (besides the experiment); rows are medians over seeds. The
optimizer's fields appear only where some task set them (the canonical form leaves out defaults)."""
_NUMERIC_UNITS = ("bool", "text")


def requested_quantities(frame: pd.DataFrame) -> list[str]:
    """Every quantity some task asked for (its protocol's quantities; Q9 when it ran GD), in Q order."""
    asked: set[str] = set()
    if "spec.protocol.quantities" in frame:
        for value in frame["spec.protocol.quantities"].dropna():
            asked.update(value if isinstance(value, (list, tuple)) else [value])
    if "spec.protocol.gd_steps" in frame and (pd.to_numeric(frame["spec.protocol.gd_steps"]) > 0).any():
        asked.add("Q9")
    return [q for q in QUANTITY_TITLES if q in asked]


def _asked(frame: pd.DataFrame, quantity: str) -> pd.Series:
    if quantity == "Q9":
        return pd.to_numeric(frame["spec.protocol.gd_steps"], errors="coerce").fillna(0) > 0
    return frame["spec.protocol.quantities"].map(lambda value: quantity in (value or ()))


def _medians(rows: pd.DataFrame, columns: list[str], experiments: pd.Series | None) -> pd.DataFrame:
    """Median of each of ``columns`` over the seeds of every (experiment, setting), with a seed count;
    setting columns are named by their last part (activation, sigma1, depth, width, ...)."""
    keys = [c for c in SETTING if c in rows]
    work = rows[keys].copy()
    work.insert(0, "experiment", experiments.reindex(rows.index) if experiments is not None else "")
    for column in columns:
        work[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    work["seeds"] = rows.get("spec.seed", 0)
    grouped = work.groupby(["experiment", *keys], sort=True, dropna=False)
    table = grouped[columns].median()
    table.insert(0, "seeds", grouped["seeds"].nunique())
    table = table.reset_index()
    return table.rename(columns={c: c.split(".")[-1] for c in keys})


def measurement_tables(frame: pd.DataFrame, experiments: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """One table per requested quantity: its numeric metrics (headers with units), median over seeds per
    (experiment, setting), over the tasks that asked for it; ``experiments`` maps the frame's index to
    experiment names. Every quantity a suite asks for appears here, measured or not."""
    tables = {}
    ok = frame[frame["status"].isin(["ok", "diverged"])] if "status" in frame else frame
    names = [c.removeprefix("metric.") for c in frame.columns if c.startswith("metric.")]
    for quantity in requested_quantities(frame):
        rows = ok[_asked(ok, quantity)] if len(ok) else ok
        metrics = [
            name
            for name in quantity_metrics(quantity, names)
            if metric_info(name).unit not in _NUMERIC_UNITS
            and metric_info(name).tabulated
            and rows[f"metric.{name}"].notna().any()
        ]
        if rows.empty or not metrics:
            tables[quantity] = pd.DataFrame({"note": ["requested, but no task measured it"]})
            continue
        table = _medians(rows, [f"metric.{name}" for name in metrics], experiments)
        tables[quantity] = table.rename(columns={f"metric.{name}": column_label(name) for name in metrics})
    return tables


def reference_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured against the infinite-width limit per width and depth: median over seeds of ||g_bar||^2
    and lambda_min(K) at init, their limits (rscbench.analysis.references) and measured / limit."""
    pairs = (("g_bar_sqnorm", "g_bar_sqnorm_limit"), ("ntk_lambda_min", "ntk_lambda_min_limit"))
    present = [(m, r) for m, r in pairs if f"metric.{m}" in frame and f"metric.{r}" in frame]
    if not present or "status" not in frame:
        return pd.DataFrame()
    rows = frame[(frame["status"] == "ok") & frame[[f"metric.{r}" for _, r in present]].notna().any(axis=1)]
    if rows.empty:
        return pd.DataFrame()
    rows = rows.copy()
    columns = []
    for measured, limit in present:
        ratio = f"metric.{measured}_over_limit"
        rows[ratio] = pd.to_numeric(rows[f"metric.{measured}"], errors="coerce") / rows[f"metric.{limit}"]
        columns += [f"metric.{measured}", f"metric.{limit}", ratio]
    table = _medians(rows, columns, None).drop(columns=["experiment"])
    return table.rename(columns={c: c.removeprefix("metric.") for c in columns})


# (flag, residual, what) of every Lanczos-based estimate a record can hold
_CONVERGENCE = (
    ("loss_hessian_converged", "loss_hessian_residual_max", "Q3 loss Hessian extremes"),
    ("predictor_hessian_converged", "predictor_hessian_residual_max", "Q1 predictor Hessian norms"),
    ("rsc_converged", None, "Q6 certificate (its bounds subtract their residuals)"),
)


def _fraction_flag(value) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(value)


def unconverged_estimates(frame: pd.DataFrame, trajectories: pd.DataFrame | None) -> pd.DataFrame:
    """Every Lanczos estimate that missed its tolerance: task (id and model), step (None at init), what,
    and its residual bound where the record has one.

    Reads the converged flags of each task's init record (Q1, Q2 blocks, Q3, Q6) and of its GD
    checkpoints and beta re-measurements. An older record without ``predictor_hessian_converged``
    counts as unconverged when its converged fraction is below 1.
    """
    found = []

    def scan(task_id: str, step, values: dict) -> None:
        for flag, residual, what in _CONVERGENCE:
            state = _fraction_flag(values.get(flag))
            if flag == "predictor_hessian_converged" and state is None:
                fraction = values.get("predictor_hessian_converged_fraction")
                state = None if fraction is None or np.isnan(fraction) else bool(fraction >= 1.0)
            if state is False:
                found.append((task_id, step, what, values.get(residual) if residual else None))
        for key, value in values.items():
            if key.startswith("block_converged_") and _fraction_flag(value) is False:
                name = key.removeprefix("block_converged_")
                found.append((task_id, step, f"Q2 block {name}", values.get(f"block_residual_{name}")))
        if step is not None and "beta_hat" in values and _fraction_flag(values.get("converged")) is False:
            found.append((task_id, step, "Q9 beta_hat (loss Hessian norm)", values.get("beta_residual")))

    metrics = [c for c in frame.columns if c.startswith("metric.")]
    for _, row in frame.iterrows():
        scan(row["task_id"], None, {c.removeprefix("metric."): row[c] for c in metrics if pd.notna(row[c])})
    if trajectories is not None and not trajectories.empty:
        known = set(frame["task_id"])
        for _, point in trajectories[trajectories["task_id"].isin(known)].iterrows():
            values = {k: v for k, v in point.items() if k not in ("task_id", "step") and pd.notna(v)}
            if any(k.endswith("converged") for k in values) or "beta_hat" in values:
                scan(point["task_id"], int(point["step"]), values)
    columns = ["task_id", "step", "estimate", "residual_bound"]
    table = pd.DataFrame(found, columns=columns)
    models = [
        c
        for c in ("spec.model.activation", "spec.model.width", "spec.model.depth", "spec.seed")
        if c in frame
    ]
    described = frame[["task_id", *models]].rename(columns={c: c.split(".")[-1] for c in models})
    return table.merge(described, on="task_id", how="left")[["task_id", *described.columns[1:], *columns[1:]]]


def regime_counts(frame: pd.DataFrame, experiments: pd.Series | None = None) -> pd.DataFrame:
    """How many tasks of each experiment carry each regime label (rscbench.analysis.regimes): columns
    ``experiment``, ``tasks`` and one per label some task carries, in REGIME_LABELS order (a task with
    several labels counts under each); ``experiments`` maps the frame's index to experiment names."""
    if frame.empty:
        return pd.DataFrame()
    labels = regime_table(frame)["regime_labels"].str.split("+")
    names = experiments.reindex(frame.index) if experiments is not None else pd.Series("", frame.index)
    work = pd.DataFrame({"experiment": names.fillna("").to_numpy(), "label": labels.to_numpy()})
    carried = work.explode("label")
    counts = pd.crosstab(carried["experiment"], carried["label"])
    counts = counts[[label for label in REGIME_LABELS if label in counts.columns]]
    counts.insert(0, "tasks", work.groupby("experiment").size())
    counts.columns.name = None
    return counts.reset_index()
