"""The dataset registry: every dataset name, what it offers (n, d, target kinds), for the CLI and errors."""

from __future__ import annotations

from dataclasses import dataclass

from rscbench.errors import InvalidArgumentError

__all__ = ["DATASETS", "NPZ_MAX_CLASSES", "SPHERE_TARGETS", "DatasetSpec", "dataset_spec"]

SPHERE_TARGETS = ("teacher", "random_labels")

NPZ_MAX_CLASSES = 32
"""An npz ``y`` of whole numbers in [0, NPZ_MAX_CLASSES) with >= 3 distinct values is read as classes."""


@dataclass(frozen=True)
class DatasetSpec:
    """What one registered dataset offers: the CLI's choices and error messages read these.

    ``usage`` is how a user names it (``npz:PATH`` for the file pattern). ``free_n``/``free_d`` say
    whether n and d may be chosen (otherwise n may only pick a subset and d must equal the native
    dimension; mnist1d's free d is its generator's signal length); ``default_n``/``default_d`` are
    used when the caller passes None (None here: all rows, or the native/file dimension).
    ``targets`` lists the accepted target kinds, the default first.
    """

    name: str
    usage: str
    description: str
    free_n: bool
    free_d: bool
    default_n: int | None
    default_d: int | None
    targets: tuple[str, ...]


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "sphere",
            "sphere",
            "Gaussian inputs projected onto the sqrt(d)-sphere; targets from a random tanh teacher "
            "network or uniform random labels",
            True,
            True,
            64,
            16,
            SPHERE_TARGETS,
        ),
        DatasetSpec(
            "digits",
            "digits",
            "scikit-learn's 8x8 handwritten digits (1797 x 64, 10 classes; binary: odd vs even digit)",
            False,
            False,
            None,
            64,
            ("native", "random_labels"),
        ),
        DatasetSpec(
            "breast_cancer",
            "breast_cancer",
            "scikit-learn's Wisconsin breast cancer data (569 x 30, 2 classes; +1 benign, -1 malignant)",
            False,
            False,
            None,
            30,
            ("native", "random_labels"),
        ),
        DatasetSpec(
            "mnist1d",
            "mnist1d",
            "Greydanus' reference MNIST-1D from the mnist1d package (4000 training rows x 40, 10 "
            "classes; d sets the signal length, 40 is the published set; binary: odd vs even class)",
            False,
            True,
            None,
            40,
            ("native", "random_labels"),
        ),
        DatasetSpec(
            "npz",
            "npz:PATH",
            "a user's numpy .npz file with arrays X (n, d) and y (n,)",
            False,
            False,
            None,
            None,
            ("native",),
        ),
    )
}


def dataset_spec(name: str) -> DatasetSpec:
    """The registry entry for a dataset name (``npz:PATH`` with a non-empty PATH maps to ``npz``).

    Raises InvalidArgumentError("dataset", ...) listing the accepted names for anything else.
    """
    if isinstance(name, str) and name.startswith("npz:") and len(name) > len("npz:"):
        return DATASETS["npz"]
    if name == "npz" or name not in DATASETS:
        raise InvalidArgumentError(
            "dataset", name, "one of " + ", ".join(spec.usage for spec in DATASETS.values())
        )
    return DATASETS[name]
