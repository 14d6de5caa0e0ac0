"""Load any registered dataset by name (generated, shipped with scikit-learn, or a user's npz file)."""

from __future__ import annotations

import torch
from torch import Tensor

from rscbench.data.arrays import dataset_from_arrays, read_npz, sklearn_arrays, targets_from_values
from rscbench.data.dataset import Dataset, class_targets
from rscbench.data.generated import generate_sphere
from rscbench.data.mnist1d import load_mnist1d
from rscbench.data.registry import dataset_spec
from rscbench.errors import InvalidArgumentError, require_integer

__all__ = ["load_dataset", "sphere"]


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
