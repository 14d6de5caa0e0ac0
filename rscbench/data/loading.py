"""Load any registered dataset by name (generated, shipped with scikit-learn, or a user's npz file)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rscbench.data.arrays import dataset_from_arrays, read_npz, sklearn_arrays, targets_from_values
from rscbench.data.dataset import Dataset, class_targets
from rscbench.data.generated import generate_sphere
from rscbench.data.mnist1d import MNIST1D_CLASSES, MNIST1D_REFERENCE_D, MNIST1D_ROWS, load_mnist1d
from rscbench.data.registry import DatasetSpec, dataset_spec
from rscbench.errors import InvalidArgumentError, require_integer

__all__ = ["DataShape", "dataset_shape", "load_dataset", "sphere"]


def load_dataset(
    name: str, *, n: int | None = None, d: int | None = None, seed: int = 0, targets: str | None = None
) -> Dataset:
    """Load or generate the dataset ``name`` (a key of DATASETS, or ``npz:PATH``).

    ``n``: number of samples; for ``sphere`` how many to generate, for the others a subset of the
    native rows drawn without replacement (kept in native order) with a generator seeded from
    ``seed``; None means the spec's ``default_n`` (all rows for fixed datasets).
    ``d``: input dimension, free for ``sphere``; for ``mnist1d`` the reference generator's signal
    length (default 40, the published dataset); elsewhere None or the native one.
    ``targets``: one of the spec's ``targets`` (None: its default, ``teacher`` for sphere and
    ``native`` elsewhere); ``random_labels`` replaces the labels by uniform random classes (for
    the real datasets: the native class count). Returns a :class:`Dataset` (X float64, rows of
    norm sqrt(d)). Raises InvalidArgumentError naming ``dataset``, ``n``, ``d``, ``targets``,
    ``seed``, ``X`` or ``y``.

    Preprocessing: ``digits`` and ``breast_cancer`` features are standardized (zero mean, unit
    variance over all native rows; constant features become 0), then every dataset's rows are
    rescaled to norm sqrt(d). Their square-loss y is the +-1 ``binary`` label (digits: +1 odd,
    -1 even; breast_cancer: +1 benign, -1 malignant). ``npz:PATH`` reads arrays ``X`` (n, d) and
    ``y`` (n,), numeric and finite, without standardizing, and reads y over the whole file by
    this rule: exactly two distinct values -> the smaller is class 0 (binary -1), the larger
    class 1 (binary +1), y = binary; else whole numbers in [0, NPZ_MAX_CLASSES) -> class labels
    (n_classes = max + 1), binary = y = +1 odd / -1 even; else a regression target: y as given,
    binary = sign(y) (0 -> +1), labels = 1 where y > median(y), else 0 (2 classes).
    """
    spec, targets = _checked(name, n, d, seed, targets)
    if spec.name == "sphere":
        return generate_sphere(n or spec.default_n, d or spec.default_d, seed, targets)
    if spec.name == "mnist1d":
        return load_mnist1d(n, d, seed, targets)
    if spec.name == "npz":
        features, raw_targets = read_npz(name)
        return dataset_from_arrays(name, features, targets_from_values(raw_targets), n=n, d=d, seed=seed)
    features, classes, n_classes = sklearn_arrays(spec.name)
    return dataset_from_arrays(
        spec.name,
        features,
        class_targets(classes, n_classes, "native"),
        n=n,
        d=d,
        seed=seed,
        standardize=True,
        random_labels=targets == "random_labels",
    )


class DataShape(NamedTuple):
    """The sizes of a dataset: ``n`` rows of dimension ``d``, and its number of classes."""

    n: int
    d: int
    n_classes: int


def dataset_shape(
    name: str, *, n: int | None = None, d: int | None = None, seed: int = 0, targets: str | None = None
) -> DataShape:
    """The sizes :func:`load_dataset` with these arguments gives, found without allocating the data
    of a generated dataset (sphere, mnist1d: their sizes are their arguments, however large); the
    others, whose sizes their files bound, are loaded. Arguments are checked as load_dataset does."""
    spec, _ = _checked(name, n, d, seed, targets)
    if spec.name == "sphere":
        return DataShape(n or spec.default_n, d or spec.default_d, 2)
    if spec.name == "mnist1d":
        if n is not None and n > MNIST1D_ROWS:
            raise InvalidArgumentError(
                "n", n, f"None or an integer in [1, {MNIST1D_ROWS}] (the rows of mnist1d)"
            )
        return DataShape(n or MNIST1D_ROWS, d or MNIST1D_REFERENCE_D, MNIST1D_CLASSES)
    data = load_dataset(name, n=n, d=d, seed=seed, targets=targets)
    return DataShape(data.n, data.d, data.n_classes)


def _checked(
    name: str, n: int | None, d: int | None, seed: int, targets: str | None
) -> tuple[DatasetSpec, str]:
    """The registry entry of ``name`` and the target kind (its default for None), the arguments checked."""
    spec = dataset_spec(name)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgumentError("seed", seed, "an integer")
    for argument, value in (("n", n), ("d", d)):
        if value is not None:
            _check_count(argument, value)
    if targets is None:
        targets = spec.targets[0]
    if targets not in spec.targets:
        raise InvalidArgumentError("targets", targets, f"one of {', '.join(spec.targets)} for {spec.usage}")
    return spec, targets


def sphere(
    n: int, d: int, *, seed: int = 0, targets: str = "teacher", dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """n Gaussian inputs projected onto the sqrt(d)-sphere, with targets: (X (n, d), y (n,)) in ``dtype``.

    ``targets="teacher"``: y = g(x) for a random teacher network (paper_mlp of width 64, depth 1,
    tanh, sigma1 = 1, seeded from ``seed + 1``), scaled to unit standard deviation.
    ``targets="random_labels"``: y uniform in {-1, +1}. All draws come from a generator seeded with
    ``seed``; the same arguments give the same tensors (those of ``load_dataset("sphere", ...)``).
    """
    _check_count("n", n)
    _check_count("d", d)
    data = load_dataset("sphere", n=n, d=d, seed=seed, targets=targets)
    return data.X.to(dtype), data.y.to(dtype)


def _check_count(argument: str, value: object) -> None:
    require_integer(argument, value, 1)
