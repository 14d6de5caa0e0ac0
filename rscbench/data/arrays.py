"""Datasets read from arrays: scikit-learn's shipped sets and a user's npz file, subset and normalized."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from rscbench.data.dataset import Dataset, Targets, class_targets, normalize_to_sphere
from rscbench.data.registry import NPZ_MAX_CLASSES
from rscbench.errors import InvalidArgumentError

__all__ = ["dataset_from_arrays", "read_npz", "sklearn_arrays", "targets_from_values"]


def sklearn_arrays(name: str) -> tuple[np.ndarray, Tensor, int]:
    """(features float64 (N, d), class labels int64 (N,), number of classes) of a scikit-learn set."""
    from sklearn.datasets import load_breast_cancer, load_digits

    bunch = load_digits() if name == "digits" else load_breast_cancer()
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    return np.asarray(bunch.data, dtype=np.float64), labels, len(bunch.target_names)


def read_npz(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The arrays X (n, d) and y (n,) of the file ``npz:PATH`` names, as float64, checked: a readable
    npz without pickles, numeric and finite, with row norms finite in float64. An error names the
    dataset and the array (``npz:PATH: X``)."""
    path = Path(name[len("npz:") :]).expanduser()
    if not path.is_file():
        raise InvalidArgumentError("dataset", name, "npz:PATH naming an existing .npz file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        archive = None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InvalidArgumentError("dataset", name, "an .npz file (numpy.savez) holding arrays X and y")
    with archive:
        missing = [key for key in ("X", "y") if key not in archive.files]
        if missing:
            raise InvalidArgumentError(
                "dataset", name, f"an .npz holding arrays X and y (it has: {', '.join(archive.files)})"
            )
        arrays = []
        for key in ("X", "y"):
            try:
                array = archive[key]
            except ValueError as error:  # object arrays need pickle, which is refused
                if "pickle" not in str(error):
                    raise InvalidArgumentError(
                        "dataset", name, f"an .npz whose array {key} reads ({error})"
                    ) from None
                raise InvalidArgumentError(f"{name}: {key}", "an object array", "a numeric array") from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:  # damaged archive
                raise InvalidArgumentError(
                    "dataset", name, f"an intact .npz file (its array {key} does not read: {error})"
                ) from None
            if array.dtype.kind not in "biuf":
                raise InvalidArgumentError(
                    f"{name}: {key}", f"dtype {array.dtype}", "a numeric array (bool, int or float)"
                )
            arrays.append(array.astype(np.float64))
    X, y = arrays
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise InvalidArgumentError(f"{name}: X", f"shape {X.shape}", "a 2-D array (n, d) with n, d >= 1")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise InvalidArgumentError(
            f"{name}: y", f"shape {y.shape}", f"a 1-D array of {X.shape[0]} targets, one per row of X"
        )
    for key, array in (("X", X), ("y", y)):
        if not np.isfinite(array).all():
            raise InvalidArgumentError(f"{name}: {key}", "NaN or infinite values", "finite numbers")
    with np.errstate(over="ignore"):
        norms = np.sqrt(np.sum(X * X, axis=1))
    if not np.isfinite(norms).all():
        largest = float(np.abs(X).max())
        raise InvalidArgumentError(
            f"{name}: X",
            f"values up to {largest:.3g}",
            "values whose row norms are finite in float64 (|x| below about 1e150): "
            "rows are rescaled to norm sqrt(d)",
        )
    return X, y


def dataset_from_arrays(
    name: str,
    features: np.ndarray,
    targets: Targets,
    *,
    n: int | None,
    d: int | None,
    seed: int,
    standardize: bool = False,
    random_labels: bool = False,
    provenance: dict[str, object] | None = None,
) -> Dataset:
    """A Dataset from native rows: optional feature standardization, seeded subset, row normalization.

    ``provenance`` (JSON-ready) is recorded under ``normalization["generator"]``: how the native
    rows were made.
    """
    available, native_d = features.shape
    if d is not None and d != native_d:
        raise InvalidArgumentError("d", d, f"None or {native_d} (the native dimension of {name})")
    if n is not None and n > available:
        raise InvalidArgumentError("n", n, f"None or an integer in [1, {available}] (the rows of {name})")
    X = torch.from_numpy(features).to(torch.float64)
    normalization: dict[str, object] = {"rows_to_norm": "sqrt(d)", "feature_standardization": None}
    if provenance is not None:
        normalization["generator"] = provenance
    if standardize:
        constant = X.amax(dim=0) == X.amin(dim=0)
        std = torch.where(constant, 1.0, X.std(dim=0, correction=0))
        X = torch.where(constant, 0.0, (X - X.mean(dim=0)) / std)
        normalization["feature_standardization"] = (
            f"zero mean, unit variance per feature over all {available} native rows, before subsetting"
        )
        normalization["constant_features_set_to_zero"] = int(constant.sum())
    generator = torch.Generator().manual_seed(seed)
    rows = torch.arange(available)
    if n is not None and n < available:
        rows = torch.randperm(available, generator=generator)[:n].sort().values
    normalization["rows"] = f"{len(rows)} of {available}" + (
        ", a subset drawn with the seed, in native order" if len(rows) < available else ""
    )
    targets = targets.take(rows)
    if random_labels:
        labels = torch.randint(targets.n_classes, (len(rows),), generator=generator)
        targets = class_targets(labels, targets.n_classes, "random_labels")
    return Dataset(
        name=name,
        X=normalize_to_sphere(X[rows]),
        y=targets.y,
        binary=targets.binary,
        labels=targets.labels,
        n_classes=targets.n_classes,
        targets="random_labels" if random_labels else "native",
        target_rule=targets.rule,
        normalization=normalization,
    )


def targets_from_values(raw: np.ndarray) -> Targets:
    """Target views of an npz file's y (all rows), by the rule stated in load_dataset's docstring."""
    values = torch.from_numpy(raw)
    distinct = torch.unique(values)
    if len(distinct) == 2:
        labels = (values == distinct[1]).to(torch.int64)
        low, high = distinct.tolist()
        rule = f"two values: {low:g} -> class 0, binary = y = -1; {high:g} -> class 1, binary = y = +1"
        return class_targets(labels, 2, "native")._replace(rule=rule)
    whole = bool((values == values.round()).all())
    if whole and distinct[0] >= 0 and distinct[-1] < NPZ_MAX_CLASSES and len(distinct) >= 3:
        return class_targets(values.to(torch.int64), int(distinct[-1].item()) + 1, "native")
    binary = torch.where(values >= 0, 1.0, -1.0).to(torch.float64)
    labels = (values > torch.quantile(values, 0.5)).to(torch.int64)
    rule = "regression: y as given; binary: sign(y) (0 -> +1); labels: 1 where y > median(y), else 0"
    return Targets(values, binary, labels, 2, rule)
