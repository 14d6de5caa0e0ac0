"""Task specs: validation naming the field, canonical form and content-hash task ids."""

import pytest

from rscbench.errors import InvalidArgumentError
from rscbench.run.specs import DataSpec, ModelSpec, ProtocolSpec, TaskSpec, task_from_flat


def test_same_task_written_differently_has_the_same_id() -> None:
    a = task_from_flat({"width": 128, "sigma1": 1, "kappa": 0.5, "quantities": ["Q4", "Q1"]})
    b = task_from_flat({"quantities": ["Q1", "Q4"], "kappa": 0.5, "sigma1": 1.0, "width": 128})
    assert a.task_id == b.task_id and len(a.task_id) == 16


def test_any_changed_field_changes_the_id() -> None:
    base = TaskSpec()
    changed = [
        TaskSpec(model=ModelSpec(width=512)),
        TaskSpec(data=DataSpec(dataset_seed=1)),
        TaskSpec(protocol=ProtocolSpec(kappa=0.6)),
        TaskSpec(seed=1),
        TaskSpec(dtype="float64"),
        TaskSpec(loss="logistic"),
    ]
    ids = {base.task_id} | {task.task_id for task in changed}
    assert len(ids) == 1 + len(changed)


def test_canonical_round_trip() -> None:
    task = task_from_flat({"dataset": "mnist1d", "n": 40, "gd_steps": 20, "activation": "gelu"})
    assert TaskSpec.from_dict(task.canonical()) == task
    assert TaskSpec.from_dict(task.canonical()).task_id == task.task_id


@pytest.mark.parametrize(
    ("flat", "argument"),
    [
        ({"width": 0}, "model.width"),
        ({"depth": 0}, "model.depth"),
        ({"sigma1": -1.0}, "model.sigma1"),
        ({"activation": "swish2"}, "model.activation"),
        ({"kappa": 1.5}, "protocol.kappa"),
        ({"kappa": 0.0}, "protocol.kappa"),
        ({"omega": 2.0}, "protocol.omega"),
        ({"target_ratio": 1.0}, "protocol.target_ratio"),
        ({"quantities": ["Q5"]}, "protocol.quantities"),
        ({"n": 0}, "data.n"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"dataset": "digits", "d": 16}, "data.d"),
        ({"loss": "hinge"}, "task.loss"),
        ({"device": "tpu"}, "task.device"),
        ({"dtype": "float16"}, "task.dtype"),
        ({"seed": -1}, "task.seed"),
        ({"loss": "cross_entropy", "gd_steps": 10}, "task.loss"),
        ({"widht": 8}, "task field"),
    ],
    ids=lambda value: str(value),
)
def test_bad_fields_name_the_field(flat: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        task_from_flat(flat)
    assert error.value.argument == argument


def test_quantities_by_name_or_code_and_q9_only_with_gd_steps() -> None:
    by_name = task_from_flat({"quantities": ["ntk", "Predictor-Hessian", "q4"]})
    assert by_name.protocol.quantities == ("Q1", "Q4", "Q10")
    assert by_name.task_id == task_from_flat({"quantities": ["Q1", "Q4", "Q10"]}).task_id
    with_gd = task_from_flat({"quantities": ["Q1", "Q9"], "gd_steps": 10})
    assert with_gd.protocol.quantities == ("Q1",) and with_gd.protocol.measured == ("Q1", "Q9")
    assert with_gd.task_id == task_from_flat({"quantities": ["Q1"], "gd_steps": 10}).task_id
    gd_only = task_from_flat({"quantities": ["gradient_descent"], "gd_steps": 10})
    assert gd_only.protocol.quantities == () and TaskSpec.from_dict(gd_only.canonical()) == gd_only
    for bad in ({"quantities": ["Q9"]}, {"quantities": []}, {"quantities": ["hessian"]}):
        with pytest.raises(InvalidArgumentError) as error:
            task_from_flat(bad)
        assert error.value.argument == "protocol.quantities"


def test_every_task_field_has_a_help_line_and_every_quantity_a_name() -> None:
    from rscbench.run.field_help import FIELD_HELP
    from rscbench.run.specs import flat_fields
    from rscbench.vocabulary import QUANTITY_NAMES, SELECTABLE_QUANTITIES, quantity_code

    assert set(FIELD_HELP) == set(flat_fields()) and all(FIELD_HELP.values())
    assert set(QUANTITY_NAMES) == set(SELECTABLE_QUANTITIES)
    assert all(quantity_code(name) == code for code, name in QUANTITY_NAMES.items())
    assert quantity_code("Q5") is None and quantity_code(5) is None
