"""Offline, deterministic datasets with content hashes; inputs are normalized to ||x||_2 = sqrt(d).

Every dataset (docs/suites.md) comes as a :class:`Dataset`: float64 inputs X of shape (n, d) whose
rows all have Euclidean norm sqrt(d), and three views of the same targets, one per loss:

- ``y``       float64 targets for the square loss,
- ``binary``  float64 labels in {-1, +1} for the logistic loss,
- ``labels``  int64 class indices in [0, n_classes) for cross-entropy.

Wherever a dataset has class labels, ``binary`` is +1 for odd class indices and -1 for even ones
(so a two-class label 1 is +1 and 0 is -1), and ``y`` equals ``binary``. Nothing is downloaded:
``sphere`` is generated, ``mnist1d`` is Greydanus' reference MNIST-1D generated offline by the
``mnist1d`` package, ``digits`` and ``breast_cancer`` ship with scikit-learn, and ``npz:PATH``
reads the user's file. Every draw of rscbench's own comes from a torch.Generator seeded with
``seed`` (mnist1d's generator uses its published seed), so the same arguments give
bitwise-identical tensors, and ``content_hash`` identifies the data in reports.

Modules: ``registry`` (the names and what each offers), ``dataset`` (the loaded dataset and its
target views), ``generated`` (sphere), ``mnist1d`` (the reference MNIST-1D), ``arrays``
(scikit-learn sets, npz files) and ``loading`` (load any of them by name).
"""

from rscbench.data.dataset import Dataset, normalize_to_sphere, targets_for
from rscbench.data.loading import DataShape, dataset_shape, load_dataset, sphere
from rscbench.data.registry import DATASETS, NPZ_MAX_CLASSES, SPHERE_TARGETS, DatasetSpec, dataset_spec

__all__ = [
    "DATASETS",
    "NPZ_MAX_CLASSES",
    "SPHERE_TARGETS",
    "DataShape",
    "Dataset",
    "DatasetSpec",
    "dataset_shape",
    "dataset_spec",
    "load_dataset",
    "normalize_to_sphere",
    "sphere",
    "targets_for",
]
