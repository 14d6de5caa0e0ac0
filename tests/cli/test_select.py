"""`rscbench run --experiment NAME --select FIELD=VALUE[,VALUE]`: the dry run shows the selection,
a run measures only the tasks selected and writes the suite's report once every task is stored,
and a bad field, value or experiment exits 2 with one line naming it and what is allowed."""

import pytest
from test_cli import assert_bad, in_process

from rscbench.store import ResultStore

SUITE = """
name = "pick"
[defaults]
n = 8
d = 4
probes = 2
[[experiment]]
name = "width"
[experiment.grid]
width = [8, 16]
[experiment.fixed]
quantities = ["Q1"]
[[experiment]]
name = "depth"
[experiment.grid]
depth = [1, 3]
[experiment.fixed]
width = 8
quantities = ["Q1"]
"""


@pytest.fixture
def suite(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)  # no reports/ to calibrate on, runs/ under tmp_path
    path = tmp_path / "pick.toml"
    path.write_text(SUITE)
    return str(path)


def test_the_dry_run_shows_the_selection_and_only_its_tasks(suite, capsys) -> None:
    result = in_process(["run", suite, "--dry-run", "--experiment", "width", "--select", "width=16"], capsys)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("pick: 1 tasks")
    assert lines[1] == "selection: experiment=width width=16 (1 of the suite's 4 tasks)"
    assert "depth:" not in result.stdout and "width=8 " not in result.stdout


def test_a_selected_run_measures_only_its_tasks_and_the_report_waits_for_the_rest(
    suite, tmp_path, capsys
) -> None:
    out = tmp_path / "out"
    first = in_process(["run", suite, "--out", str(out), "--select", "depth=3"], capsys)
    assert first.returncode == 0, first.stderr
    with ResultStore(out / "store.sqlite") as store:
        assert {r.spec["model"]["depth"] for r in store.records()} == {3} and len(store) == 1
    assert "no report yet: 1 of the suite's 4 tasks stored" in first.stdout
    rest = in_process(["run", suite, "--out", str(out)], capsys)
    assert rest.returncode == 0 and "(1 already stored, 3 run in" in rest.stdout
    assert "open: " in rest.stdout and "report.html" in rest.stdout


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--select", "widht=8"], "invalid --select='widht=8': allowed a task field: arch, width"),
        (["--select", "width=12"], "invalid --select width='12': allowed a value width takes in pick: 8, 16"),
        (["--select", "width"], "FIELD=VALUE[,VALUE]"),
        (["--experiment", "gd"], "invalid --experiment='gd': allowed an experiment of pick: width, depth"),
        (["--experiment", "depth", "--select", "width=16"], "the chosen experiments of pick: 8"),
        (["--select", "width=16", "--select", "depth=3"], "invalid selection="),
    ],
)
def test_a_bad_selection_exits_2_with_one_line(suite, capsys, flags: list[str], named: str) -> None:
    assert_bad(in_process(["run", suite, "--dry-run", *flags], capsys), named)
    assert_bad(in_process(["run", suite, *flags], capsys), named)
