"""A loaded dataset: inputs on the sqrt(d)-sphere, one target view per loss, and its content hash."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from rscbench.errors import InvalidArgumentError

__all__ = ["Dataset", "Targets", "class_targets", "normalize_to_sphere", "targets_for"]

_HASH_VERSION = b"rscbench-dataset-v1"
_LOSS_TARGETS = {"square": "y", "logistic": "binary", "cross_entropy": "labels"}


@dataclass(frozen=True, eq=False)
class Dataset:
    """One loaded dataset: inputs, targets for each loss, and what was done to them.

    ``X`` (n, d) float64 with every row of norm sqrt(d); ``y`` (n,) float64 square-loss targets;
    ``binary`` (n,) float64 in {-1, +1}; ``labels`` (n,) int64 in [0, n_classes). ``targets`` is
    the target kind loaded and ``target_rule`` says in words how y, binary and labels were made.
    ``normalization`` records the input preprocessing (JSON-ready). ``content_hash`` is computed
    on construction: sha256 (hex) over a format tag, the dataset kind (the registry name; ``npz``
    for every ``npz:PATH``, so moving a file keeps its hash), n, d, n_classes and the
    little-endian bytes of X, y, binary (float64) and labels (int64), in that order. Equal data
    give equal hashes. Datasets compare by identity; compare ``content_hash`` for equal data.
    """

    name: str
    X: Tensor
    y: Tensor
    binary: Tensor
    labels: Tensor
    n_classes: int
    targets: str
    target_rule: str
    normalization: dict[str, object]
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(_HASH_VERSION + b"\0")
        kind = "npz" if self.name.startswith("npz:") else self.name
        digest.update(f"{kind}\0{self.n},{self.d},{self.n_classes}\0".encode())
        for array, dtype in ((self.X, "<f8"), (self.y, "<f8"), (self.binary, "<f8"), (self.labels, "<i8")):
            digest.update(np.ascontiguousarray(array.detach().cpu().numpy(), dtype=dtype).tobytes())
        object.__setattr__(self, "content_hash", digest.hexdigest())

    @property
    def n(self) -> int:
        """Number of samples (rows of X)."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Input dimension (columns of X)."""
        return self.X.shape[1]


def targets_for(dataset: Dataset, loss: str) -> Tensor:
    """Targets for ``loss``: ``y`` (square), ``binary`` (logistic) or ``labels`` (cross_entropy).

    Returns a tensor of shape (n,): float64 for square and logistic, int64 for cross_entropy.
    """
    if loss not in _LOSS_TARGETS:
        raise InvalidArgumentError("loss", loss, "one of " + ", ".join(_LOSS_TARGETS))
    return getattr(dataset, _LOSS_TARGETS[loss])


def normalize_to_sphere(X: Tensor) -> Tensor:
    """Rescale every row of X to Euclidean norm sqrt(d) (d = X.shape[1]); zero rows are refused."""
    norms = X.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        raise InvalidArgumentError(
            "X", "a zero row", "rows with non-zero norm (they are rescaled to sqrt(d))"
        )
    return X * math.sqrt(X.shape[1]) / norms


class Targets(NamedTuple):
    """The three target views of a dataset with its class count and the rule that made them."""

    y: Tensor
    binary: Tensor
    labels: Tensor
    n_classes: int
    rule: str

    def take(self, rows: Tensor) -> Targets:
        """The same views restricted to ``rows`` (an index tensor)."""
        return self._replace(y=self.y[rows], binary=self.binary[rows], labels=self.labels[rows])


def class_targets(labels: Tensor, n_classes: int, kind: str) -> Targets:
    """Class labels with binary = y = +1 for odd class indices and -1 for even ones."""
    binary = (2 * (labels % 2) - 1).to(torch.float64)
    source = "uniform random classes" if kind == "random_labels" else "the native classes"
    rule = f"labels: {source}; binary = y: +1 for odd class indices, -1 for even ones"
    return Targets(binary, binary, labels, n_classes, rule)
