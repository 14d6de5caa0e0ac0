"""Build a task's inputs from its spec: the dataset it names and its model (the paper's network or a
user's factory), on the CPU in the task's dtype."""

from __future__ import annotations

from typing import Any

import torch

from rscbench.data import Dataset, DataShape, dataset_shape, load_dataset
from rscbench.models.factories import build_factory_model
from rscbench.models.paper_net import paper_mlp
from rscbench.run.specs import TaskSpec

__all__ = ["TORCH_DTYPES", "build_task_model", "load_task_data", "parameter_count", "task_data_shape"]

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _data_arguments(spec: TaskSpec) -> dict[str, Any]:
    """The keyword arguments of load_dataset and dataset_shape that ``spec.data`` gives."""
    data = spec.data
    return {"n": data.n, "d": data.d, "seed": data.dataset_seed, "targets": data.targets}


def load_task_data(spec: TaskSpec) -> Dataset:
    """The dataset ``spec.data`` names, loaded (or generated) as rscbench.data.load_dataset does."""
    return load_dataset(spec.data.dataset, **_data_arguments(spec))


def task_data_shape(spec: TaskSpec) -> DataShape:
    """The sizes of the dataset ``spec.data`` names, without generating it (rscbench.data.dataset_shape)."""
    return dataset_shape(spec.data.dataset, **_data_arguments(spec))


def build_task_model(spec: TaskSpec, data: Dataset | DataShape) -> torch.nn.Module:
    """The task's network on the CPU in its dtype: a user's factory (``arch = "module:function"``,
    seeded with the task's seed) or the paper's MLP (one output, or one per class for cross-entropy).
    Only the data's sizes are read."""
    if spec.model.is_factory:
        model = build_factory_model(
            spec.model.arch, in_dim=data.d, width=spec.model.width, depth=spec.model.depth, seed=spec.seed
        )
    else:
        model = paper_mlp(
            data.d,
            spec.model.width,
            spec.model.depth,
            spec.model.activation,
            spec.model.sigma1,
            out_dim=data.n_classes if spec.loss == "cross_entropy" else 1,
            seed=spec.seed,
            scale_input=spec.model.scale_input,
        )
    return model.to(dtype=TORCH_DTYPES[spec.dtype])


def parameter_count(model: torch.nn.Module) -> int:
    """The number of scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
