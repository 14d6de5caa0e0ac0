"""Selecting part of a suite (``--experiment``, ``--select FIELD=VALUE[,VALUE]``) through run planning:
the tasks kept are exactly those asked for, and every bad part is refused naming what is allowed."""

import pytest
from tiny_suites import TWO_EXPERIMENT_SUITE, tiny_suite

from rscbench.errors import InvalidArgumentError
from rscbench.run.planning import plan_run
from rscbench.run.specs import flat_values
from rscbench.run.suites import Selection, load_suite, parse_selection


@pytest.fixture
def suite(tmp_path):
    return load_suite(tiny_suite(tmp_path, TWO_EXPERIMENT_SUITE))


def test_a_selection_keeps_exactly_the_tasks_whose_fields_match(suite) -> None:
    everything = suite.tasks()
    chosen = parse_selection(["width=8,32", "seed=1"]).tasks(suite)
    expected = [t for t in everything if t.model.width in (8, 32) and t.seed == 1]
    assert [t.task_id for t in chosen] == [t.task_id for t in expected] and len(chosen) == 4
    sigma = parse_selection(["sigma1=2"], ["sigma"]).tasks(suite)  # "2" names the float 2.0
    assert [(t.model.sigma1, t.model.depth) for t in sigma] == [(2.0, 3), (2.0, 3)]
    owner = suite.experiment_of()
    width_only = parse_selection(experiments=["width"]).tasks(suite)
    assert {owner[t.task_id] for t in width_only} == {"width"} and len(width_only) == 6
    assert parse_selection(["width=8", "width=16"]) == parse_selection(["width=8,16"])
    assert not parse_selection() and str(parse_selection(["seed=0"], ["sigma"])) == "experiment=sigma seed=0"


def test_the_plan_holds_the_selection_and_only_its_tasks(suite) -> None:
    selection = parse_selection(["width=16"])
    plan = plan_run(suite, selection=selection, require_devices=False, reports_root=None)
    assert plan.selection == selection
    assert {flat_values(entry.task)["width"] for entry in plan.tasks} == {16} and len(plan.tasks) == 2
    assert len(plan_run(suite, require_devices=False, reports_root=None).tasks) == len(suite.tasks())
    with pytest.raises(InvalidArgumentError, match="selection"):
        plan_run(suite, tasks=suite.tasks()[:1], selection=selection, reports_root=None)


@pytest.mark.parametrize(
    ("selects", "experiments", "argument", "allowed"),
    [
        (["widht=8"], [], "--select", "a task field: arch, width"),
        (["width"], [], "--select", "FIELD=VALUE[,VALUE]"),
        (["width="], [], "--select", "FIELD=VALUE[,VALUE]"),
        (["quantities=Q1"], [], "--select", "a task field"),
        (["width=12"], [], "--select width", "a value width takes in pick: 8, 16, 32"),
        (["sigma1=3"], [], "--select sigma1", "0.5, 1, 2"),
        (["width=16"], ["sigma"], "--select width", "the chosen experiments of pick: 8"),
        ([], ["depth"], "--experiment", "an experiment of pick: width, sigma"),
        (["width=16", "depth=3"], [], "selection", "some task of pick meets"),
    ],
)
def test_a_bad_selection_names_the_part_and_what_is_allowed(
    suite, selects: list[str], experiments: list[str], argument: str, allowed: str
) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        parse_selection(selects, experiments).tasks(suite)
    assert refused.value.argument == argument and allowed in refused.value.allowed


def test_an_empty_selection_is_the_whole_suite(suite) -> None:
    assert Selection().tasks(suite) == suite.tasks()
    with pytest.raises(InvalidArgumentError, match="a task field"):  # built by hand, not parsed
        Selection(fields=(("quantities", ("Q1",)),)).tasks(suite)
