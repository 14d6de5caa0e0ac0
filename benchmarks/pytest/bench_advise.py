"""The default `rscbench advise` query, timed end to end (docs/cli.md, "advise").

``rscbench advise --activation tanh --depth 1 --sigma1 1`` into a fresh store each round: the widths
<= 1024 always, then larger widths while the budget allows (90 s of compute by default). The goal is
an answer within 2 minutes on 2 CPU cores; this measures it, never asserts it. The query runs minutes,
so it is skipped when benchmarking is disabled (the test suite's ``--benchmark-disable``); run it
with ``pytest benchmarks/pytest/bench_advise.py``. ``extra_info`` records what the sweep measured
and why it stopped.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rscbench.advise import AdviceQuery, advise


def test_default_query(benchmark, tmp_path):
    if benchmark.disabled:
        pytest.skip("times a query of minutes: run with benchmarking enabled")
    query = AdviceQuery("tanh", 1, 1.0)
    rounds = iter(range(10**6))

    def fresh_store():
        return (tmp_path / f"round-{next(rounds)}",), {}

    def ask(store: Path):
        return advise(query, store=store, progress_stream=io.StringIO())

    advice = benchmark.pedantic(ask, setup=fresh_store, rounds=1, iterations=1)
    benchmark.extra_info.update(
        widths=[row.width for row in advice.widths],
        how=advice.answer.how,
        m_star=advice.answer.m_star,
        stopped=advice.stopped,
        tasks_run=advice.tasks_run,
        sweep_seconds=advice.sweep_seconds,
    )
    assert advice.tasks_run == 3 * len(advice.widths)
