"""`rscbench run-task`, `ingest` and `merge`: an array job's record files go into a store and stores
of several machines into one, by task id, idempotently and without duplicates; the Slurm example
runs its task; every bad input exits 2 with one line naming it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import assert_bad, in_process

from rscbench.store import ResultStore

REPOSITORY = Path(__file__).resolve().parents[2]
SUITE = """
name = "array"
[defaults]
n = 8
d = 4
probes = 2
quantities = ["Q1"]
[[experiment]]
name = "width"
[experiment.grid]
width = [8, 16, 24]
"""


@pytest.fixture
def suite(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "array.toml"
    path.write_text(SUITE)
    return str(path)


def ids_of(suite: str, capsys) -> list[str]:
    listed = in_process(["list", "tasks", suite, "--ids"], capsys)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.split()


def rows(path: Path) -> dict[str, dict]:
    with ResultStore(path) as store:
        return {record.task_id: record.to_dict() for record in store.records()}


def run_tasks_into(suite: str, ids: list[str], folder: Path, capsys) -> None:
    for task_id in ids:
        done = in_process(["run-task", suite, task_id, "--record-dir", str(folder), "--threads", "1"], capsys)
        assert done.returncode == 0 and f"{task_id}: ok in" in done.stdout, done.stderr


def test_record_files_ingest_once_and_the_run_then_only_writes_the_report(suite, tmp_path, capsys) -> None:
    ids = ids_of(suite, capsys)
    assert len(ids) == 3 and len(set(ids)) == 3
    records = tmp_path / "records"
    run_tasks_into(suite, ids, records, capsys)
    assert sorted(p.name for p in records.iterdir()) == sorted(f"{i}.json" for i in ids)
    written = {i: json.loads((records / f"{i}.json").read_text()) for i in ids}
    assert {r["experiment"] for r in written.values()} == {"width"}
    again = in_process(["run-task", suite, ids[0], "--record-dir", str(records)], capsys)
    assert again.returncode == 0 and "already recorded (ok)" in again.stdout
    assert json.loads((records / f"{ids[0]}.json").read_text()) == written[ids[0]]  # not rerun

    first = in_process(["ingest", str(records), "--store", "runs/array"], capsys)
    assert first.returncode == 0 and first.stdout.startswith("3 tasks added or replaced"), first.stderr
    stored = rows(tmp_path / "runs/array/store.sqlite")
    assert stored == written
    second = in_process(["ingest", str(records), "--store", "runs/array"], capsys)
    assert second.stdout.startswith("0 tasks added or replaced") and "holds 3 tasks" in second.stdout
    assert rows(tmp_path / "runs/array/store.sqlite") == stored

    report = in_process(["run", suite, "--out", "runs/array"], capsys)
    assert report.returncode == 0 and "(3 already stored, 0 run in" in report.stdout
    assert "open: " in report.stdout


def test_stores_of_several_machines_merge_once_without_duplicates(suite, tmp_path, capsys) -> None:
    ids = ids_of(suite, capsys)
    run_tasks_into(suite, ids[:2], tmp_path / "a", capsys)
    run_tasks_into(suite, ids[1:], tmp_path / "b", capsys)
    for name in ("a", "b"):
        assert (
            in_process(["ingest", str(tmp_path / name), "--store", f"{name}.sqlite"], capsys).returncode == 0
        )
    merged = in_process(["merge", "a.sqlite", "b.sqlite", "--into", "all"], capsys)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.splitlines() == [
        "a.sqlite: 2 tasks added or replaced",
        "b.sqlite: 2 tasks added or replaced",  # the task both hold ran later for b: b's record wins
        "all/store.sqlite holds 3 tasks",
    ]
    union = rows(tmp_path / "all/store.sqlite")
    assert sorted(union) == sorted(ids)
    assert union[ids[1]] == json.loads((tmp_path / "b" / f"{ids[1]}.json").read_text())
    again = in_process(["merge", "b.sqlite", "a.sqlite", "--into", "all"], capsys)
    assert again.stdout.splitlines()[:2] == [
        "b.sqlite: 0 tasks added or replaced",
        "a.sqlite: 0 tasks added or replaced",
    ]
    assert rows(tmp_path / "all/store.sqlite") == union


def test_the_slurm_example_runs_its_array_element(suite, tmp_path) -> None:
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SUITE": suite,
        "RECORDS": str(tmp_path / "records"),
        "SLURM_ARRAY_TASK_ID": "2",
        "SLURM_CPUS_PER_TASK": "1",
    }
    script = REPOSITORY / "docs/examples/slurm_array.sbatch"
    ran = subprocess.run(
        ["bash", str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    [written] = (tmp_path / "records").iterdir()
    third = subprocess.run(
        [sys.executable, "-m", "rscbench.cli", "list", "tasks", suite, "--ids"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[2]
    assert written.name == f"{third}.json" and json.loads(written.read_text())["status"] == "ok"
    past = subprocess.run(
        ["bash", str(script)],
        env=env | {"SLURM_ARRAY_TASK_ID": "3"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert past.returncode == 2 and "past the last task" in past.stderr


def test_bad_record_inputs_exit_2_with_one_line(suite, tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "0123456789abcdef.json").write_text("{not json")
    not_a_store = tmp_path / "notes.sqlite"
    not_a_store.write_text("plain text")
    blocker = tmp_path / "file"
    blocker.write_text("")
    ids = ids_of(suite, capsys)
    cases = [
        (
            ["run-task", suite, "0123", "--record-dir", "r"],
            "invalid TASK_ID='0123': allowed the id of a task",
        ),
        (["run-task", "no-such-suite", ids[0], "--record-dir", "r"], "suite"),
        (["run-task", suite, ids[0], "--record-dir", str(blocker / "sub")], "invalid --record-dir="),
        (["run-task", suite, ids[0]], "--record-dir"),
        (["ingest", "missing", "--store", "s"], "invalid DIR='missing'"),
        (["ingest", str(empty), "--store", "s"], f"invalid DIR='{empty}'"),
        (["ingest", str(broken), "--store", "s"], "record file"),
        (["ingest", str(broken)], "--store"),
        (["ingest", str(broken), "--store", str(blocker / "sub")], "--store"),
        (["merge", "missing", "--into", "x"], "invalid STORE='missing'"),
        (["merge", str(not_a_store), "--into", "x"], "an rscbench SQLite store"),
        (["merge", str(not_a_store), "--into", str(not_a_store)], "a store other than --into"),
        (["merge", str(not_a_store)], "--into"),
        (["list", "suites", "--ids"], "--ids"),
    ]
    for arguments, named in cases:
        assert_bad(in_process(arguments, capsys), named)
    assert not (tmp_path / "r").exists() and not (tmp_path / "x").exists()  # refused before writing
