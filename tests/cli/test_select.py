"""`rscbench run --experiment NAME --select FIELD=VALUE[,VALUE]`: the dry run shows the selection,
a run measures only the tasks selected and writes the suite's report once every task is stored,
and a bad field, value or experiment exits 2 with one line naming it and what is allowed."""

import pytest
from test_cli import assert_bad, in_process
from tiny_suites import TWO_EXPERIMENT_SUITE, tiny_suite

from rscbench.store import ResultStore


@pytest.fixture
def suite(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)  # no reports/ to calibrate on, runs/ under tmp_path
    return tiny_suite(tmp_path, TWO_EXPERIMENT_SUITE)


def test_the_dry_run_shows_the_selection_and_only_its_tasks(suite, capsys) -> None:
    result = in_process(["run", suite, "--dry-run", "--experiment", "width", "--select", "width=16"], capsys)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("pick: 2 tasks")
    assert lines[1] == "selection: experiment=width width=16 (2 of the suite's 10 tasks)"
    assert "sigma:" not in result.stdout and "width=8 " not in result.stdout


def test_a_selected_run_measures_only_its_tasks_and_the_report_waits_for_the_rest(
    suite, tmp_path, capsys
) -> None:
    out = tmp_path / "out"
    picked = ["--select", "depth=3", "--select", "sigma1=2", "--select", "seed=1"]
    first = in_process(["run", suite, "--out", str(out), *picked], capsys)
    assert first.returncode == 0, first.stderr
    with ResultStore(out / "store.sqlite") as store:
        [record] = store.records()
    assert (record.spec["model"]["depth"], record.spec["model"]["sigma1"], record.spec["seed"]) == (3, 2.0, 1)
    assert "no report yet: 1 of the suite's 10 tasks stored" in first.stdout
    rest = in_process(["run", suite, "--out", str(out)], capsys)
    assert rest.returncode == 0 and "(1 already stored, 9 run in" in rest.stdout
    assert "open: " in rest.stdout and "report.html" in rest.stdout


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--select", "widht=8"], "invalid --select='widht': allowed a task field: arch, width"),
        (
            ["--select", "width=12"],
            "invalid --select width='12': allowed a value width takes in pick: 8, 16, 32",
        ),
        (["--select", "width"], "FIELD=VALUE[,VALUE]"),
        (["--experiment", "gd"], "invalid --experiment='gd': allowed an experiment of pick: width, sigma"),
        (["--experiment", "sigma", "--select", "width=16"], "the chosen experiments of pick: 8"),
        (["--select", "width=16", "--select", "depth=3"], "invalid selection="),
    ],
)
def test_a_bad_selection_exits_2_with_one_line(suite, capsys, flags: list[str], named: str) -> None:
    assert_bad(in_process(["run", suite, "--dry-run", *flags], capsys), named)
    assert_bad(in_process(["run", suite, *flags], capsys), named)
