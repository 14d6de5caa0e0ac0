"""Suites: shipped TOML files expand into valid tasks; bad suite files are refused by field."""

import pytest

from rscbench.errors import InvalidArgumentError
from rscbench.run.suites import load_suite, shipped_suites, task_labels, task_order


def test_shipped_suites_expand() -> None:
    assert {"smoke", "cpu-default", "gpu-full"} <= set(shipped_suites())
    cpu = load_suite("cpu-default")
    names = {experiment.name for experiment in cpu.experiments}
    assert {"width-sweep", "depth-sweep", "loss-comparison", "gd-convergence"} <= names
    assert {task.seed for task in cpu.tasks()} == {0, 1, 2}
    widths = {task.model.width for task in cpu.tasks() if task.model.activation == "relu"}
    assert len(widths) >= 4
    gpu = load_suite("gpu-full")
    assert max(task.model.width for task in gpu.tasks()) >= 16384
    assert max(task.model.depth for task in gpu.tasks()) >= 8
    assert {task.device for task in gpu.tasks()} == {"cuda"}


def test_the_threshold_suite_straddles_m_star_at_depth_one_with_three_seeds() -> None:
    suite = load_suite("threshold")
    tasks = suite.tasks()
    deep = [task for task in tasks if task.model.depth == 1]
    families = {(task.model.activation, task.model.sigma1) for task in deep}
    assert families == {("tanh", 0.5), ("tanh", 1.0), ("tanh", 2.0), ("softplus", 1.0), ("relu", 1.0)}
    widths = sorted({task.model.width for task in deep})
    assert widths == [2**k for k in range(8, 21)]
    assert {task.seed for task in tasks} == {0, 1, 2}
    assert all(
        task.protocol.gd_steps == 0 and set(task.protocol.quantities) == {"Q1", "Q4", "Q6", "Q8"}
        for task in tasks
    )
    assert {task.model.depth for task in tasks} == {1, 2}


def test_overrides_apply_to_every_task() -> None:
    suite = load_suite("gpu-full", {"device": "cpu", "dtype": "float64"})
    assert {(task.device, task.dtype) for task in suite.tasks()} == {("cpu", "float64")}


def test_a_users_file(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\n[defaults]\nn = 8\nd = 4\nwidth = 8\n'
        '[[experiment]]\nname = "w"\n[experiment.grid]\nseed = [0, 1]\ndepth = [1, 2]\n'
    )
    suite = load_suite(str(path))
    assert suite.name == "mine" and len(suite.tasks()) == 4


@pytest.mark.parametrize(
    ("text", "argument_part"),
    [
        ('name = "x"\n[[experiment]\n', "suite file"),
        ('name = "x"\n', "experiment"),
        ('[[experiment]]\nname = "e"\n', "name"),
        ('name = "x"\n[[experiment]]\nname = "e"\n[experiment.grid]\nwidth = 8\n', "grid.width"),
        ('name = "x"\n[[experiment]]\nname = "e"\n[experiment.fixed]\nwidht = 8\n', "fixed.widht"),
        ('name = "x"\n[[experiment]]\nname = "e"\n[experiment.fixed]\nwidth = 0\n', "experiment[0]"),
        ('name = "x"\nextra = 1\n[[experiment]]\nname = "e"\n', "extra"),
    ],
    ids=[
        "invalid-toml",
        "no-experiments",
        "no-name",
        "grid-not-list",
        "unknown-field",
        "bad-value",
        "unknown-key",
    ],
)
def test_bad_suite_files(tmp_path, text: str, argument_part: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgumentError) as error:
        load_suite(str(path))
    assert argument_part in error.value.argument


def test_unknown_suite_and_missing_file() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        load_suite("cpu-defualt")
    assert error.value.argument == "suite" and "smoke" in str(error.value)
    with pytest.raises(InvalidArgumentError):
        load_suite("/no/such/suite.toml")


def test_tasks_are_named_and_ordered_by_experiment_and_grid_values() -> None:
    suite = load_suite("cpu-default")
    labels = task_labels(suite.groups(), suite.axes())
    order = task_order(suite.groups(), suite.axes())
    assert len(order) == len(set(order)) == len(suite.tasks())
    names = [labels[task_id] for task_id in order]
    assert names[0] == "width-sweep activation=gelu width=64 seed=0"
    assert names[1] == "width-sweep activation=gelu width=64 seed=1"
    assert names[3] == "width-sweep activation=gelu width=128 seed=0"  # 128 after 64: numbers sort as numbers
    assert names[-1] == "gd-convergence activation=tanh width=512 seed=2"
