"""What a user sees: a run goes to the ignored runs/ folder, its output is ordered and fits 100
columns and ends naming the file to open; report renders without writing unless asked and publishes
on request; compare names tasks and says when nothing is shared; a closed pipe ends quietly."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from commands import rscbench as cli

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict:
    """`rscbench run smoke` with no --out, from a scratch folder: its output and run directory."""
    root = tmp_path_factory.mktemp("user")
    result = cli(["run", "smoke"], root)
    assert result.returncode == 0, result.stderr
    return {"root": root, "result": result, "run_dir": root / "runs" / "smoke"}


def test_a_run_goes_to_the_ignored_runs_folder_and_ends_naming_the_file_to_open(smoke) -> None:
    result, run_dir = smoke["result"], smoke["run_dir"]
    assert (run_dir / "store.sqlite").is_file()
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("open: runs/smoke/") and last.endswith("report.html")
    assert (smoke["root"] / last.removeprefix("open: ")).is_file()
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "runs/smoke/store.sqlite"], cwd=REPOSITORY, check=False
    )
    assert ignored.returncode == 0, "runs/ must be git-ignored"
    assert not (smoke["root"] / "reports").exists()  # nothing is published by a run


def test_results_come_by_experiment_in_grid_order_and_verdicts_fit_100_columns(smoke) -> None:
    out = smoke["result"].stdout
    blocks = [out.index(name) for name in ("all-quantities (2 tasks)", "losses (2 tasks)", "gd (1 task)")]
    assert blocks == sorted(blocks)
    quantities_block = out[blocks[0] : blocks[1]].splitlines()
    assert [line.split()[0] for line in quantities_block[2:4]] == ["relu", "tanh"]
    verdicts = out[out.index("\nverdicts (") :].split("\n\n")[0].splitlines()[2:]
    assert verdicts and all(len(line) <= 100 for line in verdicts)
    assert all(line.split()[0] in {"id", "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8"} for line in verdicts)
    assert not any("None" in line for line in verdicts)


def test_the_progress_line_names_the_running_task_and_warnings_stay_off_it(smoke) -> None:
    err = smoke["result"].stderr
    assert "5/5 done, 0 failed" in err and "ETA" in err and "| running: " in err
    assert "Warning" not in err


def test_report_renders_without_writing_unless_asked_and_publishes(smoke, tmp_path) -> None:
    run_dir = tmp_path / "smoke"
    shutil.copytree(smoke["run_dir"], run_dir)
    before = sorted(p.name for p in run_dir.iterdir())
    shown = cli(["report", str(run_dir)], tmp_path)
    assert shown.returncode == 0 and shown.stdout.startswith("# rscbench report: smoke")
    assert sorted(p.name for p in run_dir.iterdir()) == before
    written = cli(["report", str(run_dir), "--write"], tmp_path)
    assert written.returncode == 0 and len(list(run_dir.glob("*/report.json"))) == 2
    published = cli(["report", str(run_dir), "--publish-to", "reports"], tmp_path)
    assert published.returncode == 0, published.stderr
    index = json.loads((tmp_path / "reports" / "index.json").read_text())
    assert [entry["suite"] for entry in index["reports"]] == ["smoke"]
    assert (tmp_path / "reports" / index["reports"][0]["path"] / "report.html").is_file()
    assert published.stdout.strip().splitlines()[-1].endswith("report.html")


def test_compare_names_tasks_and_says_when_nothing_is_shared(smoke, tmp_path) -> None:
    report = next(smoke["run_dir"].glob("*/report.json"))
    document = json.loads(report.read_text())
    tampered = json.loads(report.read_text())
    task = next(t for t in tampered["tasks"] if t["experiment"] == "all-quantities")
    task["metrics"]["loss"] *= 3
    (tmp_path / "b.json").write_text(json.dumps(tampered))
    changed = cli(["compare", str(report), str(tmp_path / "b.json")], tmp_path)
    assert changed.returncode == 1 and "compared 5 shared tasks" in changed.stdout
    activation = task["spec"]["model"]["activation"]
    assert f"all-quantities activation={activation} [{task['task_id']}]" in changed.stdout
    disjoint = document | {"tasks": [t | {"task_id": "x" + t["task_id"]} for t in document["tasks"]]}
    (tmp_path / "c.json").write_text(json.dumps(disjoint))
    none_shared = cli(["compare", str(report), str(tmp_path / "c.json")], tmp_path)
    assert none_shared.returncode == 0 and "share no task" in none_shared.stdout
    (tmp_path / "d.json").write_text(json.dumps(disjoint | {"verdicts": [], "fits": []}))
    nothing = cli(["compare", str(report), str(tmp_path / "d.json")], tmp_path)
    assert nothing.returncode == 2 and "nothing to compare" in nothing.stderr


@pytest.mark.parametrize("suite", ["smoke", "cpu-default"])  # output under and over a pipe's buffer
def test_output_into_a_closed_pipe_ends_quietly(tmp_path, suite: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "rscbench.cli", "list", "tasks", suite],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # what `| head` does once it has read enough
    error = process.stderr.read().decode()
    assert process.wait(timeout=300) == 141 and error == ""
