"""dataset_shape: the sizes load_dataset gives, found without generating the data (so a task of
10^12 rows is sized, never built)."""

import pytest

from rscbench.data import dataset_shape, load_dataset
from rscbench.errors import InvalidArgumentError


@pytest.mark.parametrize(
    ("name", "n", "d", "targets"),
    [
        ("sphere", None, None, None),
        ("sphere", 16, 5, "random_labels"),
        ("mnist1d", None, None, None),
        ("mnist1d", 100, 20, None),
        ("digits", None, None, None),
        ("breast_cancer", 50, None, None),
    ],
)
def test_the_shape_is_that_of_the_loaded_dataset(name, n, d, targets) -> None:
    data = load_dataset(name, n=n, d=d, targets=targets)
    assert tuple(dataset_shape(name, n=n, d=d, targets=targets)) == (data.n, data.d, data.n_classes)


def test_a_huge_generated_dataset_is_sized_not_built() -> None:
    assert tuple(dataset_shape("sphere", n=10**12, d=10**6)) == (10**12, 10**6, 2)
    with pytest.raises(InvalidArgumentError, match="rows of mnist1d"):
        dataset_shape("mnist1d", n=10**12)
