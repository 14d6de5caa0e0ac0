"""Regime labels in a written report: on every task of report.json and every row of results.csv, the
Regimes section, the regime map (PNG and PDF) or the stated reason it is skipped."""

import json
from pathlib import Path

import pandas as pd

from rscbench.report import write_report
from rscbench.run.suites import load_suite
from rscbench.store import ResultStore, TaskRecord

SUITE = """
name = "regimes"
[defaults]
n = 8
d = 4
probes = 2
seed = [0, 1, 2]
[[experiment]]
name = "gd"
[experiment.grid]
width = [8, 16, 32]
[experiment.fixed]
gd_steps = 10
quantities = ["Q1"]
[[experiment]]
name = "init"
[experiment.grid]
width = [8, 16, 32]
[experiment.fixed]
quantities = ["Q6"]
"""
ONE_TASK = """
name = "one"
[defaults]
n = 8
d = 4
probes = 2
[[experiment]]
name = "gd"
[experiment.fixed]
gd_steps = 10
quantities = ["Q1"]
"""


def _gd_metrics(width: int, seed: int) -> dict:
    """Width 8 makes no progress, 16 is certified along GD (seed 2 at the edge of stability), 32 is
    certified along GD and lazy."""
    return {
        "gd_final_loss_ratio": 0.5 if width == 8 else 1e-3,
        "gd_sharpness_max": 1.95 if (width, seed) == (16, 2) else 1.0,
        "gd_rsc_certified_at_init": False,
        "gd_rsc_certified_fraction": 0.0 if width == 8 else 1.0,
        "gd_ntk_drift": 0.05 if width == 32 else 0.5,
    }


EXPECTED = {
    ("gd", 8, 0): ["no-progress", "uncertified"],
    ("gd", 8, 1): ["no-progress", "uncertified"],
    ("gd", 8, 2): ["divergent"],
    ("gd", 16, 0): ["certified-along-gd"],
    ("gd", 16, 1): ["certified-along-gd"],
    ("gd", 16, 2): ["edge-of-stability", "certified-along-gd"],
    **{("gd", 32, seed): ["certified-along-gd", "lazy"] for seed in range(3)},
    **{("init", width, seed): ["uncertified"] for width in (8, 16) for seed in range(3)},
    **{("init", 32, seed): ["certified-at-init"] for seed in range(3)},
}


def _store(tmp_path: Path, text: str) -> tuple:
    """The suite of ``text`` and a store holding a made-up record of each of its tasks (width 8 seed 2
    diverged), so a report can be written without running anything."""
    path = tmp_path / "suite.toml"
    path.write_text(text)
    suite = load_suite(str(path))
    store = ResultStore(tmp_path / "run" / "store.sqlite")
    for task in suite.tasks():
        width, seed, gd = task.model.width, task.seed, task.protocol.gd_steps > 0
        diverged = gd and (width, seed) == (8, 2)
        metrics = {"predictor_hessian_max": 0.1} | (
            _gd_metrics(width, seed) if gd else {"rsc_holds": width == 32}
        )
        store.put(
            TaskRecord(
                task_id=task.task_id,
                spec=task.canonical(),
                status="diverged" if diverged else "ok",
                message="loss grew 10x" if diverged else "",
                wall_seconds=1.0,
                peak_memory_bytes=None,
                metrics=metrics,
                trajectory=[],
                started_at="2026-01-01T00:00:00+00:00",
                finished_at="2026-01-01T00:00:01+00:00",
                rscbench_version="0",
                measurement_version="1",
                device="cpu",
            )
        )
    return suite, store


def test_every_task_carries_its_labels_in_report_json_and_results_csv(tmp_path: Path) -> None:
    suite, store = _store(tmp_path, SUITE)
    with store:
        folder = write_report(tmp_path / "run", suite, store).folder
    experiments = suite.experiment_of()
    document = json.loads((folder / "report.json").read_text())
    assert len(document["tasks"]) == len(EXPECTED) == 18
    for task in document["tasks"]:
        key = (task["experiment"], task["spec"]["model"]["width"], task["spec"]["seed"])
        assert task["regime_labels"] == EXPECTED[key] and task["regime"] == EXPECTED[key][0]
    results = pd.read_csv(folder / "results.csv")
    assert list(results.columns[:5]) == ["task_id", "experiment", "status", "regime", "regime_labels"]
    per_task = results.groupby("task_id")[["regime", "regime_labels"]].nunique()
    assert (per_task == 1).all().all() and len(per_task) == 18  # one label set per task, on each row
    labels = results.drop_duplicates("task_id").set_index("task_id")
    for task in suite.tasks():
        key = (experiments[task.task_id], task.model.width, task.seed)
        assert labels.loc[task.task_id, "regime_labels"] == "+".join(EXPECTED[key])
        assert labels.loc[task.task_id, "regime"] == EXPECTED[key][0]
    certified = results[(results["metric"] == "gd_ntk_drift") & (results["regime"] == "certified-along-gd")]
    assert len(certified) == 5  # width 16 seeds 0, 1 and width 32 (lazy too): a pandas filter reads them


def test_the_report_shows_the_regime_counts_and_the_map(tmp_path: Path) -> None:
    suite, store = _store(tmp_path, SUITE)
    with store:
        folder = write_report(tmp_path / "run", suite, store).folder
    for suffix in ("png", "pdf"):
        assert (folder / "plots" / f"regime_map.{suffix}").stat().st_size > 1000
    markdown = (folder / "report.md").read_text()
    section = markdown.split("## Regimes\n")[1].split("\n## ")[0]
    header = "| experiment | tasks | divergent | no-progress | edge-of-stability | certified-at-init |"
    assert header in section
    assert "| gd | 9 | 1 | 2 | 1 | 0 | 6 | 3 | 2 |" in section  # ... along GD, lazy, uncertified
    assert "| init | 9 | 0 | 0 | 0 | 3 | 0 | 0 | 6 |" in section
    assert "over model.width against protocol.gd_steps" in section
    assert "![regime_map](plots/regime_map.png)" in markdown
    page = (folder / "report.html").read_text()
    assert "<h2>Regimes</h2>" in page and 'alt="regime_map"' in page
    assert json.loads((folder / "report.json").read_text())["plots"][-1] == "plots/regime_map.png"


def test_a_report_with_nothing_to_map_says_why_and_draws_no_map(tmp_path: Path) -> None:
    suite, store = _store(tmp_path, ONE_TASK)
    with store:
        folder = write_report(tmp_path / "run", suite, store).folder
    assert not (folder / "plots" / "regime_map.png").exists()
    markdown = (folder / "report.md").read_text()
    assert "No regime map: nothing varies: every task has the same grid fields and seed." in markdown
    assert "No regime map" in (folder / "report.html").read_text()
    (task,) = json.loads((folder / "report.json").read_text())["tasks"]
    assert task["regime_labels"] == ["certified-along-gd"]


def test_a_report_of_unmeasured_tasks_says_so(built) -> None:
    """The session's tiny report (Q1 and Q4 only) measured no regime quantity."""
    (folder,) = [path.parent for path in (built["reports"] / "tiny").glob("*/report.json")]
    markdown = (folder / "report.md").read_text()
    assert "No regime map: no task measured a regime quantity" in markdown
    tasks = json.loads((folder / "report.json").read_text())["tasks"]
    assert {task["regime"] for task in tasks} == {"unmeasured"} and len(tasks) == 6
