"""The report's tables beside the verdicts: every requested quantity shown, the infinite-width table,
the unconverged estimates, the one escaper per format, and a suite without sweeps saying what it lacks."""

import io
import json
import math

import pandas as pd
import pytest

import rscbench.leaderboard.tables as leaderboard_tables
from rscbench.analysis.verdicts import Verdict
from rscbench.report import write_report
from rscbench.report.escape import latex_escape, markdown_cell
from rscbench.report.render import latex_table
from rscbench.report.sections import measurement_tables, requested_quantities, unconverged_estimates
from rscbench.run.runner import run_tasks
from rscbench.run.specs import task_from_flat
from rscbench.run.suites import load_suite
from rscbench.run.task import measure_task
from rscbench.store import ResultStore

SUITE = """
name = "tiny-sections"
[defaults]
n = 12
d = 4
probes = 2
secant_samples = 2
seed = [0, 1, 2]
[[experiment]]
name = "width"
[experiment.grid]
width = [8, 16, 32]
[experiment.fixed]
quantities = ["Q1", "Q4", "Q10"]
[[experiment]]
name = "one"
[experiment.fixed]
width = 8
seed = 0
gd_steps = 6
rsc_every = 3
quantities = ["Q3", "Q7"]
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("sections")
    (root / "suite.toml").write_text(SUITE)
    suite = load_suite(str(root / "suite.toml"))
    with ResultStore(root / "store.sqlite") as store:
        run_tasks(suite.tasks(), store, progress_stream=io.StringIO())
        written = write_report(root / "out", suite, store)
    return written.folder


def test_every_requested_quantity_appears_in_a_table(report) -> None:
    """Q10 (asked by the width sweep) and Q3, Q7, Q9 (asked by one GD task) each get a table."""
    markdown = (report / "report.md").read_text()
    for quantity in ("Q1", "Q3", "Q4", "Q7", "Q9", "Q10"):
        assert f"### {quantity}: " in markdown, quantity
    assert "ntk_lambda_min [dimensionless]" in markdown and "pl_constant [loss/param^2]" in markdown
    document = json.loads((report / "report.json").read_text())
    assert set(document["measurements"]) == {"Q1", "Q3", "Q4", "Q7", "Q9", "Q10"}
    assert "Q10" in (report / "report.html").read_text()


def test_the_report_shows_measured_against_the_limit_and_what_is_not_measured(report) -> None:
    document = json.loads((report / "report.json").read_text())
    rows = [r for r in document["references"] if r["gd_steps"] == 0]
    assert {r["width"] for r in rows} == {8, 16, 32}
    assert all(0.2 < r["g_bar_sqnorm_over_limit"] < 5 for r in rows)
    statuses = {(v["id"], v["aspect"]): v["status"] for v in document["verdicts"]}
    assert (
        statuses[("V2", "depth growth")] == "not measured" and statuses[("V8", "crossing")] == "not measured"
    )
    v4 = next(v for v in document["verdicts"] if v["form"] == "V4")
    assert v4["status"] == "inconclusive" and v4["reason"] == "1 seed < 3; 1 width < 3"


def test_records_carry_every_lanczos_residual_and_flag() -> None:
    flat = {"width": 8, "depth": 2, "n": 10, "d": 4, "probes": 2, "secant_samples": 2, "gd_steps": 3}
    record = measure_task(task_from_flat(flat | {"rsc_every": 3, "beta_every": 1})).metrics
    for key in ("loss_hessian_residual_max", "loss_hessian_residual_min", "predictor_hessian_residual_max"):
        assert math.isfinite(record[key]) and record[key] >= 0, key
    assert record["predictor_hessian_converged"] is True and record["loss_hessian_converged"] is True
    assert record["block_converged_W1"] is True and record["block_residual_v_W2"] >= 0


def test_unconverged_estimates_are_listed_from_records_and_trajectories() -> None:
    frame = pd.DataFrame(
        [
            {
                "task_id": "a",
                "spec.model.width": 8,
                "metric.loss_hessian_converged": False,
                "metric.loss_hessian_residual_max": 0.3,
                "metric.predictor_hessian_converged_fraction": 1.0,
            },
            {
                "task_id": "b",
                "spec.model.width": 16,
                "metric.block_converged_W1": False,
                "metric.block_residual_W1": 0.1,
                "metric.predictor_hessian_converged_fraction": 0.5,
            },
            {"task_id": "c", "spec.model.width": 32, "metric.rsc_converged": True},
        ]
    )
    trajectories = pd.DataFrame(
        [
            {"task_id": "c", "step": 20, "beta_hat": 0.2, "converged": False, "beta_residual": 0.01},
            {"task_id": "c", "step": 50, "rsc_converged": False, "rsc_lower": 0.1},
            {"task_id": "c", "step": 3, "loss": 1.0},
        ]
    )
    listed = unconverged_estimates(frame, trajectories)
    found = {(r.task_id, r.step if not pd.isna(r.step) else None, r.estimate) for r in listed.itertuples()}
    assert found == {
        ("a", None, "Q3 loss Hessian extremes"),
        ("b", None, "Q2 block W1"),
        ("b", None, "Q1 predictor Hessian norms"),
        ("c", 20, "Q9 beta_hat (loss Hessian norm)"),
        ("c", 50, "Q6 certificate (its bounds subtract their residuals)"),
    }
    assert listed.loc[listed["task_id"] == "a", "residual_bound"].iloc[0] == 0.3
    assert unconverged_estimates(frame.iloc[2:], None).empty


def test_measurement_tables_say_when_nothing_was_measured() -> None:
    frame = pd.DataFrame(
        [
            {
                "task_id": "a",
                "status": "failed",
                "spec.seed": 0,
                "spec.protocol.quantities": ("Q1",),
                "spec.protocol.gd_steps": 0,
            }
        ]
    )
    assert requested_quantities(frame) == ["Q1"]
    assert "no task measured it" in measurement_tables(frame)["Q1"]["note"].iloc[0]


def test_one_latex_escaper_shared_with_the_leaderboard() -> None:
    """The report's old escaper missed $ { } ~; there is now one, and the leaderboard uses it."""
    assert leaderboard_tables.latex_escape is latex_escape
    text = r"cost $5 {a}~b & 10% #1 x_y ^ \ | <=>"
    escaped = latex_escape(text)
    assert (
        r"\$5" in escaped and r"\{a\}" in escaped and r"\~{}b" in escaped and r"\textbackslash{}" in escaped
    )
    verdict = Verdict("V1", "c", "my.models:net_$1{x}~", "holds", covered=False, form="V1", aspect="at init")
    assert r"my.models:net\_\$1\{x\}\~{}" in latex_table([verdict])
    assert markdown_cell("a|b\nc") == "a\\|b c"
