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
        ({"trace_products": 4}, "protocol.trace_products"),
        ({"density_vectors": 0}, "protocol.density_vectors"),
        ({"density_steps": 0}, "protocol.density_steps"),
        ({"optimizer": "lbfgs", "gd_steps": 5, "lr": 0.1}, "protocol.optimizer"),
        ({"optimizer": "adam", "lr": 0.1}, "protocol.optimizer"),
        ({"optimizer": "sgd", "gd_steps": 5}, "protocol.lr"),
        ({"optimizer": "sgd", "gd_steps": 5, "lr": -0.1}, "protocol.lr"),
        ({"optimizer": "sgd", "gd_steps": 5, "lr": 0.1, "omega": 0.5}, "protocol.omega"),
        ({"optimizer": "sgd", "gd_steps": 5, "lr": 0.1, "momentum": 0.5}, "protocol.momentum"),
        ({"optimizer": "momentum", "gd_steps": 5, "lr": 0.1, "momentum": 1.0}, "protocol.momentum"),
        ({"optimizer": "adam", "gd_steps": 5, "lr": 0.1, "batch_size": 0}, "protocol.batch_size"),
        ({"optimizer": "adam", "gd_steps": 5, "lr": 0.1, "batch_size": 65}, "protocol.batch_size"),
        ({"optimizer": "adam", "gd_steps": 5, "lr": 0.1, "lr_schedule": "linear"}, "protocol.lr_schedule"),
        ({"gd_steps": 5, "lr": 0.1}, "protocol.lr"),
        ({"gd_steps": 5, "batch_size": 8}, "protocol.batch_size"),
        ({"gd_steps": 5, "lr_schedule": "cosine"}, "protocol.lr_schedule"),
        ({"gd_steps": 5, "momentum": 0.5}, "protocol.momentum"),
    ],
    ids=lambda value: str(value),
)
def test_bad_fields_name_the_field(flat: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        task_from_flat(flat)
    assert error.value.argument == argument


def test_an_optimizer_error_is_one_line_naming_field_value_and_allowed() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        task_from_flat({"gd_steps": 5, "batch_size": 8})
    text = str(error.value)
    assert text.startswith("invalid protocol.batch_size=8: allowed None with optimizer='gd'")
    assert "\n" not in text


def test_new_fields_at_their_defaults_keep_the_canonical_form_and_the_id() -> None:
    """The fields added after the canonical form was fixed (Q11/Q12 settings, the optimizer) are left
    out of it at their defaults: an id computed before they existed is the id now."""
    task = task_from_flat(
        {
            "n": 24,
            "d": 8,
            "width": 32,
            "probes": 4,
            "secant_samples": 4,
            "gd_steps": 30,
            "quantities": ["Q1", "Q4"],
        }
    )
    assert set(task.canonical()["protocol"]) == {
        "quantities",
        "probes",
        "kappa",
        "rho2",
        "tol",
        "secant_samples",
        "gd_steps",
        "omega",
        "target_ratio",
        "beta_every",
        "rsc_every",
    }
    adam = task_from_flat({"gd_steps": 30, "optimizer": "adam", "lr": 0.01, "batch_size": 16})
    assert {"optimizer", "lr", "batch_size"} <= set(adam.canonical()["protocol"])
    assert "lr_schedule" not in adam.canonical()["protocol"]
    assert TaskSpec.from_dict(adam.canonical()) == adam
    assert adam.task_id != task_from_flat({"gd_steps": 30, "optimizer": "adam", "lr": 0.01}).task_id
    assert (
        task_from_flat({"trace_products": 30, "quantities": ["Q11"]}).canonical()["protocol"][
            "trace_products"
        ]
        == 30
    )


def test_cpu_default_task_ids_match_its_committed_report() -> None:
    """New protocol fields must not move the ids of the tasks the committed cpu-default report holds."""
    import json
    from pathlib import Path

    from rscbench.run.suites import load_suite

    report = Path(__file__).resolve().parents[2] / "reports/cpu-default/20261202T025843Z-46be5de6/report.json"
    stored = {task["task_id"] for task in json.loads(report.read_text())["tasks"]}
    assert {task.task_id for task in load_suite("cpu-default").tasks()} == stored
    assert len(stored) == 159


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
