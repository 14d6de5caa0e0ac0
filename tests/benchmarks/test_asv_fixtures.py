"""The asv suite's fixtures are frozen: entries may be appended, never edited or removed.

FROZEN holds the digest of every fixture as it was first added. A failing test here means an
existing fixture changed, which would silently break asv's history of every benchmark that uses
it: restore it and add a new fixture instead (then append its digest below).
"""

import dataclasses
import hashlib
import json

import pytest
from asv_harness import load_suite_module

fixtures = load_suite_module("fixtures")
grids = load_suite_module("grids")

FROZEN_KERNEL_PROBLEM = "d7e8387942d40d9a"
FROZEN_KERNEL_WIDTHS = (64, 256, 1024, 2048)
FROZEN_TASKS = {
    "scaling-m32-s0": "a69eb79d650b8bf4",
    "scaling-m32-s1": "b4641924139e13f7",
    "scaling-m32-s2": "8269825c00532cbb",
    "scaling-m32-s3": "e52787e4f1d75ede",
    "scaling-m64-s0": "8cdefdca59ed4901",
    "scaling-m64-s1": "3eb4aca2260c06d0",
    "scaling-m64-s2": "fa02cbffbf8e6f61",
    "scaling-m64-s3": "0cebd06dfef34c3b",
    "scaling-m128-s0": "ddbf09b2734a08d4",
    "scaling-m128-s1": "523d740f783167bc",
    "scaling-m128-s2": "47ee49dfc36bc7f5",
    "scaling-m128-s3": "86edf8e4b037ba1c",
    "scaling-m256-s0": "16998b242202b173",
    "scaling-m256-s1": "7845eb77de77c0b7",
    "scaling-m256-s2": "d1dbbd6a41aab2f9",
    "scaling-m256-s3": "d24e99e970d1b8fe",
    "scaling-m512-s0": "ed61aed69fe5fcde",
    "scaling-m512-s1": "76ccb6ff1b0bd119",
    "scaling-m512-s2": "112ba9dc6475d958",
    "scaling-m512-s3": "aa47a0cae6b1986e",
    "scaling-m1024-s0": "c0504dc9a32048d3",
    "scaling-m1024-s1": "db9ef18eb0f0fd70",
    "scaling-m1024-s2": "95b97d19d4d2d9e8",
    "scaling-m1024-s3": "2770193527ba80a3",
    "gd-square-m256-s0": "002aac5ede20bd1a",
    "gd-square-m256-s1": "9ca29c7fa26b40ab",
    "gd-square-m256-s2": "5fdf609b6602dc19",
    "gd-square-m256-s3": "e83a360bef50ec07",
    "gd-square-m1024-s0": "0af0784e0c9f4d26",
    "gd-square-m1024-s1": "0a457b33eff91ce7",
    "gd-square-m1024-s2": "d9c086ef8756ea51",
    "gd-square-m1024-s3": "f5fc50cc3f51752e",
    "gd-logistic-m256-s0": "e4858fdd537aad7b",
    "gd-logistic-m256-s1": "09ac08f4b56355b4",
    "gd-logistic-m256-s2": "2f4478e07348c2cc",
    "gd-logistic-m256-s3": "88ce8e7f88e0eb79",
    "gd-logistic-m1024-s0": "386888b6774c8dce",
    "gd-logistic-m1024-s1": "a0e676edff3914e8",
    "gd-logistic-m1024-s2": "53c2ed4c6fd41ab3",
    "gd-logistic-m1024-s3": "5a7df984fde0466a",
}


def _digest(document: dict) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


def test_kernel_problem_is_frozen():
    assert _digest(dataclasses.asdict(fixtures.KERNEL_PROBLEM)) == FROZEN_KERNEL_PROBLEM
    assert grids.KERNEL_WIDTHS[: len(FROZEN_KERNEL_WIDTHS)] == FROZEN_KERNEL_WIDTHS


@pytest.mark.parametrize("name", sorted(FROZEN_TASKS))
def test_task_fixture_is_frozen(name):
    tasks = fixtures.SCALING_TASKS | fixtures.GD_TASKS
    assert name in tasks, f"fixture {name} was removed"
    assert _digest(tasks[name].canonical()) == FROZEN_TASKS[name], f"fixture {name} was edited"


def test_digest_sees_an_edit():
    spec = fixtures.SCALING_TASKS["scaling-m32-s0"]
    edited = dataclasses.replace(spec, seed=spec.seed + 1)
    assert _digest(edited.canonical()) != FROZEN_TASKS["scaling-m32-s0"]


def test_quick_grid_is_a_subset_of_the_full_grid(monkeypatch):
    monkeypatch.delenv(grids.FULL_VARIABLE, raising=False)
    quick = (grids.kernel_widths(), fixtures.scaling_tasks(), fixtures.gd_tasks())
    monkeypatch.setenv(grids.FULL_VARIABLE, "1")
    full = (grids.kernel_widths(), fixtures.scaling_tasks(), fixtures.gd_tasks())
    assert set(quick[0]) < set(full[0]) and full[0] == grids.KERNEL_WIDTHS
    for small, large in zip(quick[1:], full[1:], strict=True):
        assert small.items() < large.items()
    assert len(quick[1]) == 8 and len(quick[2]) == 2
    assert {spec.model.width for spec in quick[1].values()} == {32, 64, 128, 256}
