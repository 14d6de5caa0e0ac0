"""Datasets: row norms, determinism, content hashes, the npz rules and errors (docs/suites.md)."""

import math
import random
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from rscbench.data import (
    DATASETS,
    Dataset,
    dataset_spec,
    load_dataset,
    normalize_to_sphere,
    sphere,
    targets_for,
)
from rscbench.data.mnist1d import mnist1d_arrays
from rscbench.errors import InvalidArgumentError
from rscbench.measure.losses import LOSSES

SMALL = {"sphere": {"n": 40, "d": 7}, "digits": {"n": 200}, "breast_cancer": {"n": 100}, "mnist1d": {"n": 60}}


def _assert_on_sphere(data: Dataset) -> None:
    norms = data.X.norm(dim=1)
    torch.testing.assert_close(norms, torch.full_like(norms, math.sqrt(data.d)), rtol=1e-12, atol=0)


def _assert_same(a: Dataset, b: Dataset) -> None:
    for field in ("X", "y", "binary", "labels"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert a.content_hash == b.content_hash


def _assert_consistent_views(data: Dataset) -> None:
    assert data.X.dtype == data.y.dtype == data.binary.dtype == torch.float64
    assert data.labels.dtype == torch.int64
    assert data.y.shape == data.binary.shape == data.labels.shape == (data.n,)
    assert bool(((data.binary == 1) | (data.binary == -1)).all())
    assert int(data.labels.min()) >= 0 and int(data.labels.max()) < data.n_classes


@pytest.mark.parametrize("name", list(SMALL))
def test_rows_on_the_sphere_and_views_consistent(name: str) -> None:
    data = load_dataset(name, **SMALL[name])
    _assert_on_sphere(data)
    _assert_consistent_views(data)
    assert data.normalization["rows_to_norm"] == "sqrt(d)"
    assert len(data.content_hash) == 64


@pytest.mark.parametrize("name", list(SMALL))
def test_same_arguments_same_data_other_seed_other_data(name: str) -> None:
    a = load_dataset(name, seed=3, **SMALL[name])
    b = load_dataset(name, seed=3, **SMALL[name])
    c = load_dataset(name, seed=4, **SMALL[name])
    _assert_same(a, b)
    assert not torch.equal(a.X, c.X)
    assert a.content_hash != c.content_hash


def test_hashes_differ_across_datasets_and_targets() -> None:
    hashes = {load_dataset(name, **SMALL[name]).content_hash for name in SMALL}
    hashes.add(load_dataset("sphere", targets="random_labels", **SMALL["sphere"]).content_hash)
    hashes.add(load_dataset("digits", targets="random_labels", n=200).content_hash)
    assert len(hashes) == len(SMALL) + 2


def test_sklearn_datasets_shapes_classes_and_standardization() -> None:
    digits = load_dataset("digits")
    assert (digits.n, digits.d, digits.n_classes) == (1797, 64, 10)
    assert digits.labels.bincount().tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    torch.testing.assert_close(digits.y, torch.where(digits.labels % 2 == 1, 1.0, -1.0).double())
    assert digits.normalization["constant_features_set_to_zero"] == 3
    cancer = load_dataset("breast_cancer")
    assert (cancer.n, cancer.d, cancer.n_classes) == (569, 30, 2)
    assert cancer.labels.bincount().tolist() == [212, 357]  # 0 malignant, 1 benign
    torch.testing.assert_close(cancer.binary, 2.0 * cancer.labels.double() - 1)
    _assert_on_sphere(digits)
    _assert_on_sphere(cancer)


def test_subset_is_seeded_rows_of_the_full_set() -> None:
    full, part = load_dataset("digits"), load_dataset("digits", n=50, seed=1)
    assert part.n == 50 and part.n_classes == 10
    matches = ((part.X[:, None, :] - full.X[None, :, :]).abs().amax(dim=2) < 1e-12).sum(dim=1)
    assert matches.min() >= 1  # every subset row is a row of the full set (standardized with it)
    with pytest.raises(InvalidArgumentError) as error:
        load_dataset("breast_cancer", n=570)
    assert error.value.argument == "n"
    with pytest.raises(InvalidArgumentError) as error:
        load_dataset("digits", d=32)
    assert error.value.argument == "d"
    assert load_dataset("digits", d=64, n=10).d == 64


def test_random_labels_on_real_inputs_keep_the_inputs() -> None:
    native, shuffled = load_dataset("digits", n=300), load_dataset("digits", n=300, targets="random_labels")
    assert torch.equal(native.X, shuffled.X)
    assert not torch.equal(native.labels, shuffled.labels)
    assert shuffled.targets == "random_labels" and shuffled.n_classes == 10
    _assert_consistent_views(shuffled)


# From the published mnist1d_data.pkl of Greydanus' repository (read once, not shipped): the first
# row's first inputs, the last row's last inputs, the first labels and the class counts of the
# 4000 training rows, before rscbench rescales rows.
REFERENCE_FIRST_ROW = [-0.3320056673693902, -0.4719103656557236, -0.778697076293495, -1.0097408265367047]
REFERENCE_LAST_ROW_END = [-1.2162451343416705, -1.4649417006350856, -1.6509928567520655]
REFERENCE_LABELS = [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9, 4, 3, 4, 5, 1, 9, 0, 3]
REFERENCE_COUNTS = [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]


def test_mnist1d_generates_the_published_reference() -> None:
    X, labels, arguments = mnist1d_arrays(40)
    assert X.shape == (4000, 40) and labels.shape == (4000,)
    np.testing.assert_allclose(X[0, :4], REFERENCE_FIRST_ROW, rtol=0, atol=1e-12)
    np.testing.assert_allclose(X[-1, -3:], REFERENCE_LAST_ROW_END, rtol=0, atol=1e-12)
    assert labels[:20].tolist() == REFERENCE_LABELS
    assert np.bincount(labels).tolist() == REFERENCE_COUNTS
    assert arguments["seed"] == 42 and arguments["num_samples"] == 5000
    data = load_dataset("mnist1d", n=None)
    assert (data.n, data.d, data.n_classes) == (4000, 40, 10)
    torch.testing.assert_close(data.X, normalize_to_sphere(torch.from_numpy(np.array(X))), rtol=0, atol=0)
    assert data.normalization["generator"]["package"] == "mnist1d 0.0.2.post1"
    torch.testing.assert_close(data.y, torch.where(data.labels % 2 == 1, 1.0, -1.0).double())


def test_mnist1d_generation_needs_no_network_and_keeps_global_random_state(monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("mnist1d tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    mnist1d_arrays.cache_clear()
    np.random.seed(7)
    random.seed(7)
    expected = (np.random.get_state()[1].copy(), random.getstate())
    X, labels, _ = mnist1d_arrays(40)
    assert np.array_equal(np.random.get_state()[1], expected[0]) and random.getstate() == expected[1]
    mnist1d_arrays.cache_clear()
    again, again_labels, _ = mnist1d_arrays(40)
    assert np.array_equal(X, again) and np.array_equal(labels, again_labels)


def test_mnist1d_subsets_and_signal_length() -> None:
    full = load_dataset("mnist1d")
    subset = load_dataset("mnist1d", n=500, seed=1)
    rows = [int(torch.nonzero((row == full.X).all(dim=1))[0]) for row in subset.X[:5]]
    assert rows == sorted(rows) and torch.equal(subset.labels[:5], full.labels[rows])
    short = load_dataset("mnist1d", n=500, d=20, seed=1)
    assert short.X.shape == (500, 20) and torch.equal(short.labels, subset.labels)
    _assert_on_sphere(short)
    with pytest.raises(InvalidArgumentError, match="rows of mnist1d"):
        load_dataset("mnist1d", n=4001)


def test_mnist1d_classes_carry_signal() -> None:
    data = load_dataset("mnist1d")
    train, test = slice(0, 2000), slice(2000, None)
    means = torch.stack([data.X[train][data.labels[train] == c].mean(dim=0) for c in range(10)])
    predicted = torch.cdist(data.X[test], means).argmin(dim=1)
    accuracy = (predicted == data.labels[test]).double().mean().item()
    # Chance is 0.1 (standard error 0.007 over 2000 rows); the nearest class mean reaches 0.25 on
    # MNIST-1D, a set built so that models without spatial structure do poorly.
    assert accuracy > 0.2


def test_sphere_outputs_unchanged() -> None:
    # Pinned from the implementation before the dataset registry existed (seed 5, n 3, d 4).
    X_expected = torch.tensor(
        [
            [-0.8352471694704073, -1.0360727522752597, -0.9576144833281699, 1.145377631702559],
            [-0.15656475319303856, 1.5407708668859192, -1.1116532482754315, -0.6047641436228655],
            [0.8937660115951875, -1.2731295617949017, -0.7898070854165035, 0.9780225985257402],
        ],
        dtype=torch.float64,
    )
    X, y = sphere(3, 4, seed=5, dtype=torch.float64)
    torch.testing.assert_close(X, X_expected, rtol=1e-15, atol=0)
    y_expected = [-1.4157352220803998, -0.9260193375526324, 0.5084481098357958]
    torch.testing.assert_close(y, torch.tensor(y_expected, dtype=torch.float64), rtol=1e-14, atol=0)
    X, y = sphere(3, 4, seed=5, targets="random_labels", dtype=torch.float64)
    assert y.tolist() == [1.0, -1.0, -1.0]
    X32, y32 = sphere(3, 4, seed=5)
    assert X32.dtype == y32.dtype == torch.float32
    data = load_dataset("sphere", n=3, d=4, seed=5)
    assert torch.equal(X32, data.X.float()) and torch.equal(y32, data.y.float())
    assert torch.equal(data.binary, torch.where(data.y >= 0, 1.0, -1.0).double())
    assert torch.equal(data.labels, (data.binary > 0).long())


def test_sphere_defaults_come_from_the_registry() -> None:
    data = load_dataset("sphere")
    assert (data.n, data.d) == (DATASETS["sphere"].default_n, DATASETS["sphere"].default_d)
    assert data.targets == "teacher"


def test_targets_for_each_loss() -> None:
    data = load_dataset("mnist1d", n=30)
    assert torch.equal(targets_for(data, "square"), data.y)
    assert torch.equal(targets_for(data, "logistic"), data.binary)
    assert torch.equal(targets_for(data, "cross_entropy"), data.labels)
    for loss in LOSSES:
        assert targets_for(data, loss).shape == (30,)
    with pytest.raises(InvalidArgumentError) as error:
        targets_for(data, "hinge")
    assert error.value.argument == "loss"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"name": "cifar10"}, "dataset"),
        ({"name": "npz"}, "dataset"),
        ({"name": "npz:"}, "dataset"),
        ({"name": "sphere", "n": 0}, "n"),
        ({"name": "sphere", "d": 0}, "d"),
        ({"name": "mnist1d", "n": 2.5}, "n"),
        ({"name": "sphere", "targets": "native"}, "targets"),
        ({"name": "digits", "targets": "teacher"}, "targets"),
        ({"name": "sphere", "seed": 1.5}, "seed"),
    ],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(InvalidArgumentError) as error:
        load_dataset(name, **kwargs)
    assert error.value.argument == argument


def test_registry_names_and_usage() -> None:
    assert list(DATASETS) == ["sphere", "digits", "breast_cancer", "mnist1d", "npz"]
    assert dataset_spec("npz:/any/file.npz") is DATASETS["npz"]
    with pytest.raises(InvalidArgumentError, match="npz:PATH"):
        dataset_spec("mnist")


def _write(path: Path, **arrays: object) -> str:
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_npz_round_trip_and_hash_ignores_the_path(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
    data = load_dataset(_write(tmp_path / "a.npz", X=X, y=y))
    torch.testing.assert_close(
        data.X, torch.from_numpy(X * math.sqrt(5) / np.linalg.norm(X, axis=1)[:, None])
    )
    assert torch.equal(data.y, torch.from_numpy(y))
    assert torch.equal(data.binary, torch.from_numpy(np.where(y >= 0, 1.0, -1.0)))
    assert torch.equal(data.labels, torch.from_numpy((y > np.median(y)).astype(np.int64)))
    assert data.normalization["feature_standardization"] is None
    moved = load_dataset(_write(tmp_path / "b.npz", X=X, y=y))
    assert moved.content_hash == data.content_hash
    subset = load_dataset(f"npz:{tmp_path / 'a.npz'}", n=10, seed=1)
    assert subset.n == 10 and subset.d == 5


def test_npz_label_rules(tmp_path: Path) -> None:
    X = np.random.default_rng(1).normal(size=(8, 3))
    two = load_dataset(_write(tmp_path / "two.npz", X=X, y=np.array([3, 7, 7, 3, 3, 7, 3, 3])))
    assert two.labels.tolist() == [0, 1, 1, 0, 0, 1, 0, 0] and two.n_classes == 2
    assert two.y.tolist() == two.binary.tolist() == [-1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0]
    classes = load_dataset(_write(tmp_path / "classes.npz", X=X, y=np.array([0, 1, 2, 4, 4, 2, 1, 0])))
    assert classes.labels.tolist() == [0, 1, 2, 4, 4, 2, 1, 0] and classes.n_classes == 5
    assert classes.binary.tolist() == [-1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0, -1.0]
    counts = load_dataset(_write(tmp_path / "counts.npz", X=X, y=np.array([0, 1, 2, 40, 4, 2, 1, 0.0])))
    assert counts.n_classes == 2 and counts.y.tolist() == [0, 1, 2, 40, 4, 2, 1, 0]  # >= 32: regression


@pytest.mark.parametrize(
    ("case", "argument"),
    [
        ("missing file", "dataset"),
        ("not an npz", "dataset"),
        ("a plain .npy", "dataset"),
        ("missing key", "dataset"),
        ("X not 2-D", "X"),
        ("lengths differ", "y"),
        ("NaN in X", "X"),
        ("inf in y", "y"),
        ("string X", "X"),
        ("object y", "y"),
        ("n too large", "n"),
        ("wrong d", "d"),
        ("zero row", "X"),
    ],
)
def test_npz_errors(tmp_path: Path, case: str, argument: str) -> None:
    X, y = np.ones((4, 2)), np.arange(4.0)
    path = tmp_path / "data.npz"
    options: dict = {}
    if case == "missing file":
        path = tmp_path / "absent.npz"
    elif case == "not an npz":
        path.write_text("X,y\n1,2\n")
    elif case == "a plain .npy":
        path = tmp_path / "data.npy"
        np.save(path, X)
    elif case == "missing key":
        np.savez(path, X=X, target=y)
    elif case == "object y":
        np.savez(path, X=X, y=np.array([1, "a", None, 2.0], dtype=object))
    else:
        bad = {
            "X not 2-D": {"X": np.ones(4)},
            "lengths differ": {"y": np.arange(3.0)},
            "NaN in X": {"X": np.where(np.eye(4, 2) > 0, np.nan, 1.0)},
            "inf in y": {"y": np.array([0, 1, np.inf, 2])},
            "string X": {"X": np.full((4, 2), "a")},
            "zero row": {"X": np.vstack([np.zeros(2), np.ones((3, 2))])},
        }.get(case, {})
        np.savez(path, **{"X": X, "y": y, **bad})
        options = {"n too large": {"n": 5}, "wrong d": {"d": 3}}.get(case, {})
    with pytest.raises(InvalidArgumentError) as error:
        load_dataset(f"npz:{path}", **options)
    assert error.value.argument.rpartition(": ")[2] == argument  # "npz:PATH: X" names the file too
