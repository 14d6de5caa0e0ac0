"""The analytic infinite-width references of each stored task (rscbench.analysis.infinite_width), added
to the task frame as derived columns: ``metric.g_bar_sqnorm_limit`` and ``metric.ntk_lambda_min_limit``.

A reference exists for a task of the paper's network (``arch = paper_mlp``) with a scalar output,
whose dataset can be loaded here (a generated or shipped dataset, or an ``npz:`` file still on
disk); other rows get NaN. Each is evaluated at the task's own width m: sigma0 = sigma0(m) of
rscbench.models.paper_net.init_std and the NTK limit with its 1/m W-block term (C^L + W/m). One
conjugate-kernel recursion serves every depth of a (data, activation, sigma1, width) group and is
cached for the process, so reports, plots and verdicts share it.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from rscbench.analysis.infinite_width import NtkLimit, ntk_limit
from rscbench.data import load_dataset
from rscbench.errors import RscbenchError
from rscbench.models.paper_net import init_std

__all__ = ["REFERENCE_COLUMNS", "limits_for", "with_references"]

REFERENCE_COLUMNS = ("metric.g_bar_sqnorm_limit", "metric.ntk_lambda_min_limit")
_DATA_FIELDS = (
    "spec.data.dataset",
    "spec.data.n",
    "spec.data.d",
    "spec.data.dataset_seed",
    "spec.data.targets",
)


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


@functools.lru_cache(maxsize=256)
def limits_for(
    data: tuple, activation: str, sigma1: float, width: int, depth: int, scale_input: bool
) -> tuple[NtkLimit, ...] | None:
    """NTK limits of depths 1..``depth`` for the dataset ``data`` = (dataset, n, d, dataset_seed,
    targets), or None when the dataset cannot be loaded here."""
    dataset, n, d, dataset_seed, targets = data
    try:
        loaded = load_dataset(dataset, n=n, d=d, seed=dataset_seed, targets=targets)
    except (RscbenchError, OSError):
        return None
    X = loaded.X.double().numpy()
    return tuple(ntk_limit(X, activation, init_std(sigma1, width), depth, scale_input=scale_input))


def with_references(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (ResultStore.to_frame()) with the columns REFERENCE_COLUMNS (NaN where no reference).

    Existing reference columns are recomputed, so the call is idempotent.
    """
    frame = frame.copy()
    for column in REFERENCE_COLUMNS:
        frame[column] = np.nan
    needed = [
        *_DATA_FIELDS,
        "spec.model.activation",
        "spec.model.sigma1",
        "spec.model.width",
        "spec.model.depth",
    ]
    if frame.empty or any(column not in frame for column in needed):
        return frame
    arch = (
        frame["spec.model.arch"] if "spec.model.arch" in frame else pd.Series("paper_mlp", index=frame.index)
    )
    loss = frame["spec.loss"] if "spec.loss" in frame else pd.Series("square", index=frame.index)
    scale = (
        frame["spec.model.scale_input"]
        if "spec.model.scale_input" in frame
        else pd.Series(True, index=frame.index)
    )
    usable = (arch == "paper_mlp") & (loss != "cross_entropy")
    groups: dict[tuple, list] = {}
    for index in frame.index[usable]:
        row = frame.loc[index]
        key = (
            tuple(_plain(row[column]) for column in _DATA_FIELDS),
            str(row["spec.model.activation"]),
            float(row["spec.model.sigma1"]),
            int(row["spec.model.width"]),
            bool(_plain(scale[index]) if _plain(scale[index]) is not None else True),
        )
        groups.setdefault(key, []).append(index)
    for (data, activation, sigma1, width, scale_input), indices in groups.items():
        depth = int(frame.loc[indices, "spec.model.depth"].max())
        limits = limits_for(data, activation, sigma1, width, depth, scale_input)
        if limits is None:
            continue
        for index in indices:
            limit = limits[int(frame.at[index, "spec.model.depth"]) - 1]
            frame.at[index, REFERENCE_COLUMNS[0]] = limit.g_bar_sqnorm(width)
            frame.at[index, REFERENCE_COLUMNS[1]] = limit.lambda_min(width)
    return frame
