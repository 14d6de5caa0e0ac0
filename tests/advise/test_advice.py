"""advise on tiny queries (widths 64-256, seconds): the Advice's fields against the stored records and
the infinite-width reference, reuse from the store (a second call runs no task), and the sweep's
decisions beyond the fitted widths: early stop on a confirmed crossing, the time budget, memory."""

from __future__ import annotations

import io

import pytest

import rscbench.advise.query as query_module
from rscbench.advise import OBSERVED, AdviceQuery, advise
from rscbench.analysis.infinite_width import ntk_limit
from rscbench.data import load_dataset
from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.run.task_memory import estimate_memory
from rscbench.store import ResultStore

TINY = {"min_width": 64, "max_width": 256}


def ask(query: AdviceQuery, store) -> object:
    return advise(query, store=store, threads=1, progress_stream=io.StringIO())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tanh query at widths 64, 128, 256 (9 tasks), its store folder and the advice."""
    store = tmp_path_factory.mktemp("advise")
    query = AdviceQuery("tanh", 1, 1.0, **TINY)
    return query, store, ask(query, store)


def test_fields_of_a_tiny_query(tiny):
    query, store, advice = tiny
    assert advice.query == query
    assert [row.width for row in advice.widths] == [64, 128, 256]
    assert all(row.seeds == row.ok == 3 for row in advice.widths)
    assert (advice.tasks_run, advice.tasks_reused, advice.failed) == (9, 0, 0)
    assert advice.answer.fit_widths == (64, 128, 256) and advice.answer.largest_width == 256
    assert advice.stopped.startswith("max width: 256")
    with ResultStore(store / "store.sqlite") as opened:
        frame = opened.to_frame()
    assert len(frame) == 9 and set(frame["experiment"]) == {"advise"}
    at = frame[frame["spec.model.width"] == 256]
    assert advice.theorem_threshold == pytest.approx(float(at["metric.theorem_width_threshold"].median()))
    assert advice.c_H == pytest.approx(float(at["metric.predictor_hessian_scaled_max"].median()))
    assert advice.sweep_seconds == pytest.approx(float(frame["wall_seconds"].sum()))
    for row in advice.widths:
        assert row.regime in ("certified-at-init", "uncertified")
        assert row.gauss_newton > 0 and row.minus_lambda_min_R > 0
        assert 0.5 < row.g_bar_sqnorm / row.g_bar_sqnorm_limit < 2.0  # the reference at that width's sigma0
    if advice.answer.how != OBSERVED:
        assert advice.answer.beyond_largest_width == pytest.approx(advice.answer.m_star / 256)


def test_infinite_width_constants_are_the_limit_at_sigma1_over_2(tiny):
    _, _, advice = tiny
    X = load_dataset("sphere", n=64, d=16).X.double().numpy()
    depth1, depth2 = ntk_limit(X, "tanh", 0.5, 2)
    limit = advice.infinite_width
    assert limit.g_bar_sqnorm == pytest.approx(float(depth1.head.mean()), rel=1e-12)
    assert limit.gauss_newton == pytest.approx(2 * 0.25 * limit.g_bar_sqnorm)
    assert limit.per_layer_factor == pytest.approx(float(depth2.head.mean() / depth1.head.mean()))
    assert limit.depths == (1, 2)


def test_second_call_runs_no_task(tiny):
    query, store, first = tiny
    again = ask(query, store)
    assert (again.tasks_run, again.tasks_reused) == (0, 9)
    assert again.answer == first.answer and again.widths == first.widths


def test_widths_beyond_the_fit_run_while_within_the_budget(tiny, monkeypatch):
    _, store, _ = tiny
    monkeypatch.setattr(query_module, "V8_LARGEST_FIT_WIDTH", 64)  # 128 and 256 become the extension
    spent = ask(AdviceQuery("tanh", 1, 1.0, **TINY, budget_seconds=1e-3), store)
    assert [row.width for row in spent.widths] == [64]
    assert spent.stopped.startswith("budget: width 128 is estimated at")
    generous = ask(AdviceQuery("tanh", 1, 1.0, **TINY, budget_seconds=1e6), store)
    assert [row.width for row in generous.widths] == [64, 128, 256]
    assert (generous.tasks_run, generous.tasks_reused) == (0, 9)


def test_memory_stops_the_sweep(tiny, monkeypatch):
    query, store, _ = tiny
    monkeypatch.setattr(query_module, "V8_LARGEST_FIT_WIDTH", 64)
    fits = estimate_memory(query.task(64, 0)).total_bytes
    too_big = estimate_memory(query.task(128, 0)).total_bytes
    assert fits < too_big
    monkeypatch.setattr("rscbench.run.planning.available_memory_bytes", lambda device: (fits + too_big) // 2)
    advice = ask(AdviceQuery("tanh", 1, 1.0, **TINY, budget_seconds=1e6), store)
    assert [row.width for row in advice.widths] == [64]
    assert advice.stopped.startswith("memory: width 128 needs an estimated")
    monkeypatch.setattr("rscbench.run.planning.available_memory_bytes", lambda device: fits // 2)
    with pytest.raises(RscbenchError, match="memory"):
        ask(query, store)


def test_a_confirmed_crossing_stops_early(tmp_path, monkeypatch):
    monkeypatch.setattr(query_module, "V8_LARGEST_FIT_WIDTH", 64)
    # sigmoid's mean mode (phi(0) = 1/2) makes ||g_bar||^2 large: certified from width 64
    advice = ask(AdviceQuery("sigmoid", 1, 1.0, min_width=64, max_width=1024, budget_seconds=1e6), tmp_path)
    assert [row.width for row in advice.widths] == [64, 128]
    assert advice.answer.how == OBSERVED and advice.answer.observed_crossing == 64
    assert advice.answer.regime == "certified at init from width 64 (observed in 3/3 seeds)"
    assert advice.stopped.startswith("crossing")


def test_unwritable_store_raises_a_typed_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InvalidArgumentError) as raised:
        ask(AdviceQuery("tanh", 1, 1.0, **TINY), blocker / "store")
    assert raised.value.argument == "store"
