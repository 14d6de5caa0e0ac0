"""Offline, deterministic datasets with content hashes; inputs are normalized to ||x||_2 = sqrt(d).

Every dataset (DESIGN section 5) comes as a :class:`Dataset`: float64 inputs X of shape (n, d)
whose rows all have Euclidean norm sqrt(d), and three views of the same targets, one per loss of
``rscbench.measure.losses.LOSSES``:

- ``y``       float64 targets for the square loss,
- ``binary``  float64 labels in {-1, +1} for the logistic loss,
- ``labels``  int64 class indices in [0, n_classes) for cross-entropy.

Wherever a dataset has class labels, ``binary`` is +1 for odd class indices and -1 for even ones
(so a two-class label 1 is +1 and 0 is -1), and ``y`` equals ``binary``. Nothing is downloaded:
``sphere`` and ``mnist1d`` are generated, ``digits`` and ``breast_cancer`` ship with
scikit-learn, and ``npz:PATH`` reads the user's file. All randomness comes from a
torch.Generator seeded with ``seed``, so the same arguments give bitwise-identical tensors, and
``content_hash`` identifies the data in reports.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rscbench.errors import InvalidArgumentError, require_integer
from rscbench.models import paper_mlp

__all__ = [
    "DATASETS",
    "MNIST1D_TEMPLATES",
    "NPZ_MAX_CLASSES",
    "SPHERE_TARGETS",
    "Dataset",
    "DatasetSpec",
    "dataset_spec",
    "load_dataset",
    "normalize_to_sphere",
    "sphere",
    "targets_for",
]

SPHERE_TARGETS = ("teacher", "random_labels")

NPZ_MAX_CLASSES = 32
"""An npz ``y`` of whole numbers in [0, NPZ_MAX_CLASSES) with >= 3 distinct values is read as classes."""

# Ten hand-written 1-D patterns (knot values, linearly interpolated between equally spaced knots),
# one per mnist1d class.
MNIST1D_TEMPLATES: tuple[tuple[float, ...], ...] = (
    (0.0, 1.0, 1.0, 0.0, -1.0, -1.0, 0.0, 0.0),
    (0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0),
    (1.0, 0.5, 0.0, -0.5, -1.0, -0.5, 0.0, 1.0),
    (0.0, 1.0, 0.0, -0.5, 0.0, 1.0, 0.0, 0.0),
    (-1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 0.5, 0.5),
    (0.0, -1.0, -1.0, 0.5, 1.0, 0.0, -0.5, 0.0),
    (1.0, 0.0, -1.0, 0.0, 1.0, 0.0, -1.0, 0.0),
    (-1.0, -0.5, 0.0, 0.5, 1.0, 1.0, -1.0, 0.0),
    (0.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 0.0),
    (0.0, 0.0, -1.0, -1.0, 0.0, 1.0, 1.0, 1.0),
)

_HASH_VERSION = b"rscbench-dataset-v1"
_LOSS_TARGETS = {"square": "y", "logistic": "binary", "cross_entropy": "labels"}


@dataclass(frozen=True)
class DatasetSpec:
    """What one registered dataset offers: the CLI's choices and error messages read these.

    ``usage`` is how a user names it (``npz:PATH`` for the file pattern). ``free_n``/``free_d`` say
    whether n and d may be chosen (otherwise n may only pick a subset and d must equal the native
    dimension); ``default_n``/``default_d`` are used when the caller passes None (None here: all
    rows, or the native/file dimension). ``targets`` lists the accepted target kinds, the default
    first.
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
            "procedural 1-D digits after Greydanus' MNIST-1D: 10 templates scaled, shifted, sheared "
            "and noised (binary: odd vs even class)",
            True,
            True,
            1000,
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


def load_dataset(
    name: str, *, n: int | None = None, d: int | None = None, seed: int = 0, targets: str | None = None
) -> Dataset:
    """Load or generate the dataset ``name`` (a key of DATASETS, or ``npz:PATH``).

    ``n``: number of samples; for ``sphere``/``mnist1d`` how many to generate, for the others a
    subset of the native rows drawn without replacement (kept in native order) with a generator
    seeded from ``seed``; None means the spec's ``default_n`` (all rows for fixed datasets).
    ``d``: input dimension, free for ``sphere``/``mnist1d``; elsewhere None or the native one.
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
        return _sphere(n or spec.default_n, d or spec.default_d, seed, targets)
    if spec.name == "mnist1d":
        return _mnist1d(n or spec.default_n, d or spec.default_d, seed, targets)
    if spec.name == "npz":
        features, raw_targets = _read_npz(name)
        return _from_arrays(name, features, _targets_from_values(raw_targets), n=n, d=d, seed=seed)
    features, classes, n_classes = _sklearn_arrays(spec.name)
    return _from_arrays(
        spec.name,
        features,
        _class_targets(classes, n_classes, "native"),
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


def _sphere(n: int, d: int, seed: int, targets: str) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    X = normalize_to_sphere(torch.randn(n, d, generator=generator, dtype=torch.float64))
    if targets == "teacher":
        teacher = paper_mlp(d, 64, 1, "tanh", 1.0, seed=seed + 1).double()
        with torch.no_grad():
            y = teacher(X)
        y = y / y.std() if n > 1 else y
        binary = torch.where(y >= 0, 1.0, -1.0).to(torch.float64)
        rule = (
            "y: outputs of a random tanh teacher (paper_mlp width 64, depth 1, sigma1 1, seed + 1) "
            "scaled to unit standard deviation; binary: sign(y) (0 -> +1); labels: binary > 0"
        )
    else:
        y = torch.where(torch.rand(n, generator=generator, dtype=torch.float64) < 0.5, -1.0, 1.0)
        binary = y
        rule = "y = binary: uniform random labels in {-1, +1}; labels: binary > 0"
    return Dataset(
        name="sphere",
        X=X,
        y=y,
        binary=binary,
        labels=(binary > 0).to(torch.int64),
        n_classes=2,
        targets=targets,
        target_rule=rule,
        normalization={"rows_to_norm": "sqrt(d)", "feature_standardization": None},
    )


def _interpolate_knots(knots: Tensor, u: Tensor) -> Tensor:
    """Piecewise-linear curves through equally spaced knots on [0, 1], evaluated at u, 0 outside.

    knots: (n, K) one curve per row; u: (n, B) positions. Returns (n, B).
    """
    K = knots.shape[1]
    position = u.clamp(0.0, 1.0) * (K - 1)
    left = position.floor().clamp(max=K - 2).to(torch.int64)
    fraction = position - left
    values = knots.gather(1, left) * (1 - fraction) + knots.gather(1, left + 1) * fraction
    return torch.where((u >= 0) & (u <= 1), values, torch.zeros_like(values))


_MNIST1D_BASE_LENGTH = 64  # points the sample is built on before resampling to d
_MNIST1D_WIDTH = 0.5  # fraction of the signal the unscaled template spans (the rest is padding)
_MNIST1D_SCALE = (0.75, 1.25)  # horizontal scaling factor range
_MNIST1D_SHIFT = 0.2  # centre shift, uniform in +-this fraction of the signal
_MNIST1D_SHEAR = 0.75  # slope of the added linear ramp, uniform in +-this over the signal
_MNIST1D_SMOOTH_NOISE = 0.25  # standard deviation of the correlated noise
_MNIST1D_SMOOTH_WIDTH = 2.0  # its Gaussian smoothing length, in base points
_MNIST1D_WHITE_NOISE = 0.1  # standard deviation of the white noise added after resampling


def _mnist1d(n: int, d: int, seed: int, targets: str) -> Dataset:
    """Procedural 1-D digits; the idea (templates under random transforms) is Greydanus' MNIST-1D
    (S. Greydanus, "Scaling down deep learning", 2020); templates and constants here are our own."""
    generator = torch.Generator().manual_seed(seed)
    k = len(MNIST1D_TEMPLATES)
    classes = (torch.arange(n) % k)[torch.randperm(n, generator=generator)]
    scale = torch.empty(n, 1, dtype=torch.float64).uniform_(*_MNIST1D_SCALE, generator=generator)
    shift = torch.empty(n, 1, dtype=torch.float64).uniform_(
        -_MNIST1D_SHIFT, _MNIST1D_SHIFT, generator=generator
    )
    shear = torch.empty(n, 1, dtype=torch.float64).uniform_(
        -_MNIST1D_SHEAR, _MNIST1D_SHEAR, generator=generator
    )
    base = _MNIST1D_BASE_LENGTH
    s = torch.linspace(0.0, 1.0, base, dtype=torch.float64).expand(n, base)
    u = (s - 0.5 - shift) / (_MNIST1D_WIDTH * scale) + 0.5
    knots = torch.tensor(MNIST1D_TEMPLATES, dtype=torch.float64)[classes]
    signal = _interpolate_knots(knots, u) + shear * (s - 0.5)
    radius = math.ceil(3 * _MNIST1D_SMOOTH_WIDTH)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / _MNIST1D_SMOOTH_WIDTH) ** 2)
    kernel = kernel / kernel.norm()  # unit-variance white noise stays unit variance
    white = torch.randn(n, 1, base + 2 * radius, generator=generator, dtype=torch.float64)
    signal = signal + _MNIST1D_SMOOTH_NOISE * F.conv1d(white, kernel.view(1, 1, -1)).squeeze(1)
    resampled = F.interpolate(signal.unsqueeze(1), size=d, mode="linear", align_corners=True).squeeze(1)
    X = resampled + _MNIST1D_WHITE_NOISE * torch.randn(n, d, generator=generator, dtype=torch.float64)
    if targets == "random_labels":
        classes = torch.randint(k, (n,), generator=generator)
    views = _class_targets(classes, k, targets)
    return Dataset(
        name="mnist1d",
        X=normalize_to_sphere(X),
        y=views.y,
        binary=views.binary,
        labels=views.labels,
        n_classes=k,
        targets=targets,
        target_rule=views.rule,
        normalization={
            "rows_to_norm": "sqrt(d)",
            "feature_standardization": None,
            "generator": {
                "base_length": base,
                "template_width": _MNIST1D_WIDTH,
                "scale": list(_MNIST1D_SCALE),
                "shift": _MNIST1D_SHIFT,
                "shear": _MNIST1D_SHEAR,
                "smooth_noise": _MNIST1D_SMOOTH_NOISE,
                "smooth_width": _MNIST1D_SMOOTH_WIDTH,
                "white_noise": _MNIST1D_WHITE_NOISE,
            },
        },
    )


class _Targets(NamedTuple):
    """The three target views of a dataset with its class count and the rule that made them."""

    y: Tensor
    binary: Tensor
    labels: Tensor
    n_classes: int
    rule: str

    def take(self, rows: Tensor) -> _Targets:
        return self._replace(y=self.y[rows], binary=self.binary[rows], labels=self.labels[rows])


def _class_targets(labels: Tensor, n_classes: int, kind: str) -> _Targets:
    """Class labels with binary = y = +1 for odd class indices and -1 for even ones."""
    binary = (2 * (labels % 2) - 1).to(torch.float64)
    source = "uniform random classes" if kind == "random_labels" else "the native classes"
    rule = f"labels: {source}; binary = y: +1 for odd class indices, -1 for even ones"
    return _Targets(binary, binary, labels, n_classes, rule)


def _sklearn_arrays(name: str) -> tuple[np.ndarray, Tensor, int]:
    """(features float64 (N, d), class labels int64 (N,), number of classes) of a scikit-learn set."""
    from sklearn.datasets import load_breast_cancer, load_digits

    bunch = load_digits() if name == "digits" else load_breast_cancer()
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    return np.asarray(bunch.data, dtype=np.float64), labels, len(bunch.target_names)


def _read_npz(name: str) -> tuple[np.ndarray, np.ndarray]:
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
            except ValueError:  # object arrays need pickle, which is refused
                raise InvalidArgumentError(key, "an object array", "a numeric array") from None
            if array.dtype.kind not in "biuf":
                raise InvalidArgumentError(
                    key, f"dtype {array.dtype}", "a numeric array (bool, int or float)"
                )
            arrays.append(array.astype(np.float64))
    X, y = arrays
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise InvalidArgumentError("X", f"shape {X.shape}", "a 2-D array (n, d) with n, d >= 1")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise InvalidArgumentError(
            "y", f"shape {y.shape}", f"a 1-D array of {X.shape[0]} targets, one per row of X"
        )
    for key, array in (("X", X), ("y", y)):
        if not np.isfinite(array).all():
            raise InvalidArgumentError(key, "NaN or infinite values", "finite numbers")
    return X, y


def _from_arrays(
    name: str,
    features: np.ndarray,
    targets: _Targets,
    *,
    n: int | None,
    d: int | None,
    seed: int,
    standardize: bool = False,
    random_labels: bool = False,
) -> Dataset:
    """A Dataset from native rows: optional feature standardization, seeded subset, row normalization."""
    available, native_d = features.shape
    if d is not None and d != native_d:
        raise InvalidArgumentError("d", d, f"None or {native_d} (the native dimension of {name})")
    if n is not None and n > available:
        raise InvalidArgumentError("n", n, f"None or an integer in [1, {available}] (the rows of {name})")
    X = torch.from_numpy(features).to(torch.float64)
    normalization: dict[str, object] = {"rows_to_norm": "sqrt(d)", "feature_standardization": None}
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
        targets = _class_targets(labels, targets.n_classes, "random_labels")
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


def _targets_from_values(raw: np.ndarray) -> _Targets:
    """Target views of an npz file's y (all rows), by the rule stated in load_dataset's docstring."""
    values = torch.from_numpy(raw)
    distinct = torch.unique(values)
    if len(distinct) == 2:
        labels = (values == distinct[1]).to(torch.int64)
        low, high = distinct.tolist()
        rule = f"two values: {low:g} -> class 0, binary = y = -1; {high:g} -> class 1, binary = y = +1"
        return _class_targets(labels, 2, "native")._replace(rule=rule)
    whole = bool((values == values.round()).all())
    if whole and distinct[0] >= 0 and distinct[-1] < NPZ_MAX_CLASSES and len(distinct) >= 3:
        return _class_targets(values.to(torch.int64), int(distinct[-1].item()) + 1, "native")
    binary = torch.where(values >= 0, 1.0, -1.0).to(torch.float64)
    labels = (values > torch.quantile(values, 0.5)).to(torch.int64)
    rule = "regression: y as given; binary: sign(y) (0 -> +1); labels: 1 where y > median(y), else 0"
    return _Targets(values, binary, labels, 2, rule)
