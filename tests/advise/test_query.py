"""AdviceQuery: every field validated with a typed error naming it, the sweep's widths, and tasks that
have the ids a suite writing the same fields gives."""

from __future__ import annotations

import math

import pytest

from rscbench.advise import AdviceQuery
from rscbench.advise.query import ADVISE_QUANTITIES, ADVISE_SEEDS
from rscbench.errors import InvalidArgumentError
from rscbench.run.specs import task_from_flat

BAD = [
    ("activation", {"activation": "swish2"}, "tanh"),
    ("depth", {"depth": 0}, ">= 1"),
    ("depth", {"depth": 1.5}, "integer"),
    ("depth", {"depth": True}, "integer"),
    ("sigma1", {"sigma1": 0.0}, "> 0"),
    ("sigma1", {"sigma1": -1.0}, "> 0"),
    ("sigma1", {"sigma1": math.nan}, "finite"),
    ("sigma1", {"sigma1": math.inf}, "finite"),
    ("sigma1", {"sigma1": "1"}, "> 0"),
    ("kappa", {"kappa": 0.0}, "(0, 1]"),
    ("kappa", {"kappa": 1.5}, "(0, 1]"),
    ("kappa", {"kappa": math.nan}, "(0, 1]"),
    ("dataset", {"dataset": "imagenet"}, "sphere"),
    ("n", {"n": 0}, ">= 1"),
    ("n", {"n": 2.5}, "integer"),
    ("d", {"d": -3}, ">= 1"),
    ("d", {"dataset": "digits", "d": 10}, "native dimension"),
    ("loss", {"loss": "logistic"}, "square"),
    ("min_width", {"min_width": 0}, "[1,"),
    ("max_width", {"min_width": 512, "max_width": 256}, "[512,"),
    ("budget_seconds", {"budget_seconds": 0.0}, "> 0"),
    ("budget_seconds", {"budget_seconds": math.inf}, "finite"),
]


@pytest.mark.parametrize(("field", "change", "allowed"), BAD, ids=[f"{f}={c}" for f, c, _ in BAD])
def test_bad_field_raises_typed_error_naming_it(field, change, allowed):
    values = {"activation": "tanh", "depth": 1, "sigma1": 1.0} | change
    with pytest.raises(InvalidArgumentError) as raised:
        AdviceQuery(**values)
    assert raised.value.argument == field
    assert allowed in raised.value.allowed


def test_defaults_are_written_out_and_numbers_normalized():
    query = AdviceQuery("tanh", 1, 1)
    assert (query.n, query.d, query.sigma1, query.kappa) == (64, 16, 1.0, 0.5)
    assert isinstance(query.sigma1, float)
    assert AdviceQuery("tanh", 1, 1).task(256, 0).task_id == AdviceQuery("tanh", 1, 1.0).task(256, 0).task_id
    digits = AdviceQuery("tanh", 1, 1.0, dataset="digits")
    assert digits.d is None and digits.task(256, 0).data.d is None


def test_widths_double_and_the_fit_widths_always_run():
    query = AdviceQuery("tanh", 2, 0.5, min_width=256, max_width=5000)
    assert query.widths == (256, 512, 1024, 2048, 4096)
    assert query.fit_widths == (256, 512, 1024)
    assert AdviceQuery("tanh", 2, 0.5, min_width=2048, max_width=4096).fit_widths == (2048,)
    assert AdviceQuery("tanh", 2, 0.5, min_width=256, max_width=256).widths == (256,)


def test_tasks_are_init_only_and_match_a_suite_task():
    query = AdviceQuery("gelu", 2, 0.5, kappa=0.25)
    tasks = query.tasks(512)
    assert [task.seed for task in tasks] == list(ADVISE_SEEDS)
    task = tasks[1]
    assert task.protocol.gd_steps == 0 and task.protocol.quantities == ADVISE_QUANTITIES
    suite_task = task_from_flat(
        {
            "activation": "gelu",
            "depth": 2,
            "sigma1": 0.5,
            "width": 512,
            "n": 64,
            "d": 16,
            "kappa": 0.25,
            "quantities": ["Q1", "Q4", "Q6", "Q8"],
            "seed": 1,
        }
    )
    assert task.task_id == suite_task.task_id
