"""The reference MNIST-1D (S. Greydanus, "Scaling down deep learning", 2020), from the ``mnist1d`` package.

The package's own generator (``mnist1d.data.make_dataset``) builds the dataset offline from its
published default arguments (5000 samples, seed 42, 40 points; 4000 training rows): with those
arguments it reproduces the published ``mnist1d_data.pkl`` (checked when this module was written:
labels equal, inputs to 9e-16). Only the generator is called, never the package's download path.
``d`` other than 40 sets the generator's ``final_seq_length``: the same random draws, resampled
to d points at the end; d = 40 is the published dataset.
"""

from __future__ import annotations

import functools
import random
from importlib.metadata import version

import numpy as np
import torch

from rscbench.data.arrays import dataset_from_arrays
from rscbench.data.dataset import Dataset, class_targets

__all__ = ["MNIST1D_CLASSES", "MNIST1D_REFERENCE_D", "MNIST1D_ROWS", "load_mnist1d", "mnist1d_arrays"]

MNIST1D_REFERENCE_D = 40
"""The published dataset's signal length (the generator's ``final_seq_length``)."""
MNIST1D_ROWS, MNIST1D_CLASSES = 4000, 10
"""Rows of the training split and its number of classes."""


@functools.lru_cache(maxsize=4)
def mnist1d_arrays(d: int = MNIST1D_REFERENCE_D) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """(X (4000, d) float64, labels (4000,) int64, the generator's arguments) of the training split.

    Calls the package's generator with its default arguments (``final_seq_length = d``). The
    generator seeds numpy's and Python's global random state; both are restored afterwards, so
    loading the dataset leaves the caller's random streams as they were. The arrays are cached
    (read-only) per d: generation takes about 1.5 s.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.final_seq_length = d
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        generated = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    X = np.asarray(generated["x"], dtype=np.float64)
    labels = np.asarray(generated["y"], dtype=np.int64)
    X.flags.writeable = labels.flags.writeable = False
    arguments = {key: value for key, value in vars(args).items() if key != "url"}
    return X, labels, arguments


def load_mnist1d(n: int | None, d: int | None, seed: int, targets: str) -> Dataset:
    """The reference training split, ``n`` rows drawn with ``seed`` (None: all 4000), at length ``d``.

    Rows keep the package's normalization (the whole dataset centred, unit standard deviation)
    and are then rescaled to norm sqrt(d); ``random_labels`` replaces the classes by uniform
    random ones drawn with ``seed``.
    """
    features, labels, arguments = mnist1d_arrays(MNIST1D_REFERENCE_D if d is None else d)
    return dataset_from_arrays(
        "mnist1d",
        np.array(features),
        class_targets(torch.from_numpy(np.array(labels)), MNIST1D_CLASSES, "native"),
        n=n,
        d=None,
        seed=seed,
        random_labels=targets == "random_labels",
        provenance={
            "package": f"mnist1d {version('mnist1d')}",
            "function": "mnist1d.data.make_dataset (offline), training split",
            "arguments": arguments,
            "package_normalization": "all inputs centred, unit standard deviation",
        },
    )
