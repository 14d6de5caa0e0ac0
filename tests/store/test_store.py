"""Tests of rscbench.store: records round trip, survive a kill -9, migrate, merge and ingest."""

import json
import math
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import rscbench.store.sqlite as store_module
from rscbench.errors import InvalidArgumentError
from rscbench.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    ResultStore,
    TaskRecord,
    read_record_file,
    write_record_file,
)


def record_dict(task_id: str = "a1", **changes: Any) -> dict[str, Any]:
    """A valid record as the runner hands it over, with ``changes`` applied."""
    data: dict[str, Any] = {
        "task_id": task_id,
        "spec": {"model": {"arch": "mlp", "width": 64, "activation": "tanh"}, "seed": 0, "probes": [1, 2]},
        "status": "ok",
        "message": "",
        "wall_seconds": 1.5,
        "peak_memory_bytes": 1024,
        "metrics": {"hessian_norm": 0.25, "n_hvp": 12, "converged": True, "verdict": "pass", "gap": None},
        "trajectory": [{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}],
        "started_at": "2026-05-01T10:00:00+00:00",
        "finished_at": "2026-05-01T10:00:01.500000+00:00",
        "rscbench_version": "0.1.0",
        "measurement_version": "1",
        "device": "cpu",
    }
    data.update(changes)
    return data


def make_record(task_id: str = "a1", **changes: Any) -> TaskRecord:
    """A valid :class:`TaskRecord` with ``changes`` applied."""
    return TaskRecord.from_dict(record_dict(task_id, **changes))


NONFINITE = {"nan_metric": math.nan, "inf_metric": math.inf, "neg_inf_metric": -math.inf}


def assert_same_record(got: TaskRecord | None, want: TaskRecord) -> None:
    """Equal field by field, NaN equal to NaN (compared through the strict JSON form)."""
    assert got is not None
    assert json.dumps(got.to_dict(), allow_nan=False) == json.dumps(want.to_dict(), allow_nan=False)


# --- the record ---------------------------------------------------------------------------------------


def test_record_round_trip_keeps_nonfinite_metrics_trajectory_and_missing_memory() -> None:
    record = make_record(
        metrics={**record_dict()["metrics"], **NONFINITE},
        trajectory=[{"step": 0, "loss": 1.0}, {"step": 1, "loss": math.inf}],
        peak_memory_bytes=None,
    )
    data = record.to_dict()
    text = json.dumps(data, allow_nan=False)  # strict JSON: no NaN tokens
    back = TaskRecord.from_dict(json.loads(text))
    assert math.isnan(back.metrics["nan_metric"])
    assert back.metrics["inf_metric"] == math.inf and back.metrics["neg_inf_metric"] == -math.inf
    assert back.trajectory[1]["loss"] == math.inf
    assert back.peak_memory_bytes is None
    assert back.metrics["verdict"] == "pass" and back.metrics["converged"] is True
    assert back.metrics["gap"] is None and back.spec == record.spec
    assert_same_record(back, record)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "crashed"),
        ("task_id", "../escape"),
        ("wall_seconds", "fast"),
        ("wall_seconds", -1.0),
        ("peak_memory_bytes", 1.5),
        ("message", None),
        ("metrics", [1, 2]),
        ("trajectory", {"step": 0}),
        ("started_at", "yesterday"),
        ("finished_at", "2026-05-01T12:00:00+02:00"),
        ("spec", "mlp"),
        ("device", 0),
    ],
    ids=lambda value: str(value),
)
def test_from_dict_names_the_bad_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        TaskRecord.from_dict(record_dict(**{field: value}))
    assert caught.value.argument == field and caught.value.value == value


def test_from_dict_names_bad_metric_missing_and_unknown_fields() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        TaskRecord.from_dict(record_dict(metrics={"loss": [1.0]}))
    assert caught.value.argument == "metrics.loss"
    with pytest.raises(InvalidArgumentError) as caught:
        TaskRecord.from_dict(record_dict(trajectory=[{"loss": 1.0}, {"loss": object()}]))
    assert caught.value.argument == "trajectory[1].loss"
    incomplete = record_dict()
    del incomplete["device"]
    with pytest.raises(InvalidArgumentError) as caught:
        TaskRecord.from_dict(incomplete)
    assert caught.value.argument == "device"
    with pytest.raises(InvalidArgumentError) as caught:
        TaskRecord.from_dict(record_dict(colour="red"))
    assert caught.value.argument == "record" and caught.value.value == ["colour"]


# --- storing, reopening, crashing ---------------------------------------------------------------------


def test_put_then_reopen_sees_the_record(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "store.sqlite"
    record = make_record(metrics=NONFINITE, peak_memory_bytes=None)
    with ResultStore(path) as store:
        store.put(record)
        store.put(record_dict("b2", status="failed", message="boom"))  # a plain dict is accepted
        assert store.has("a1") and not store.has("zz")
    with ResultStore(path) as store:
        assert len(store) == 2 and store.task_ids() == {"a1", "b2"}
        assert_same_record(store.get("a1"), record)
        assert store.get("zz") is None
        assert [r.task_id for r in store.records()] == ["a1", "b2"]
        assert store.get("b2").message == "boom"
        assert store.schema_version == SCHEMA_VERSION
        assert store._connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_put_replaces_a_record_of_the_same_task(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put(make_record(status="failed", message="first"))
        store.put(make_record(status="timeout", message="second"))
        assert len(store) == 1 and store.get("a1").message == "second"


def test_records_put_before_a_kill_9_survive(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    script = (
        "import json, os, signal, sys\n"
        "from rscbench.store import ResultStore\n"
        "store = ResultStore(sys.argv[1])\n"
        "for record in json.loads(sys.argv[2]):\n"
        "    store.put(record)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    records = [record_dict(f"t{i}", metrics={"i": i, "nan": math.nan}) for i in range(3)]
    payload = json.dumps([TaskRecord.from_dict(r).to_dict() for r in records])
    done = subprocess.run([sys.executable, "-c", script, str(path), payload], timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    with ResultStore(path) as store:
        assert store.task_ids() == {"t0", "t1", "t2"}
        assert store.get("t2").metrics["i"] == 2 and math.isnan(store.get("t2").metrics["nan"])


# --- schema -------------------------------------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL,
    wall_seconds REAL NOT NULL, peak_memory_bytes INTEGER, metrics TEXT NOT NULL,
    trajectory TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
    rscbench_version TEXT NOT NULL, measurement_version TEXT NOT NULL
);
INSERT INTO meta VALUES ('schema_version', '1');
"""


def test_a_version_1_store_is_upgraded_on_open_with_its_rows_intact(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(V1_SCHEMA)  # written by hand, as version 1 of the code wrote it
    connection.execute(
        "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "old1",
            json.dumps({"seed": 3}),
            "ok",
            "",
            2.0,
            None,
            json.dumps({"loss": {"$float": "nan"}, "n": 4}),
            json.dumps([{"loss": 1.0}]),
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:02+00:00",
            "0.0.9",
            "1",
        ),
    )
    connection.commit()
    connection.close()
    assert SCHEMA_VERSION >= 3 and len(MIGRATIONS) == SCHEMA_VERSION
    with ResultStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        old = store.get("old1")
        assert old.spec == {"seed": 3} and old.metrics["n"] == 4 and math.isnan(old.metrics["loss"])
        assert old.device == "unknown" and old.trajectory == [{"loss": 1.0}] and old.wall_seconds == 2.0
        assert old.experiment is None and old.threads is None
        assert old.quantity_seconds == {} and old.warnings == []
        store.put(make_record("new1"))
        indexes = {row[0] for row in store._connection.execute("SELECT name FROM sqlite_master")}
        assert "tasks_by_status" in indexes
    with ResultStore(path) as store:
        assert store.task_ids() == {"old1", "new1"}


def test_a_failing_migration_leaves_the_store_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as store:
        store.put(make_record())

    def half_done(connection: sqlite3.Connection) -> None:
        connection.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("migration failed midway")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, half_done])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(RuntimeError, match="midway"):
        ResultStore(path)
    monkeypatch.undo()
    with ResultStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION and store.task_ids() == {"a1"}
        tables = {row[0] for row in store._connection.execute("SELECT name FROM sqlite_master")}
        assert "half" not in tables


def test_migrations_from_an_empty_file_reach_the_newest_schema(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite"
    connection = sqlite3.connect(path)
    for migration in MIGRATIONS:
        migration(connection)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(tasks)")]
    connection.close()
    assert columns[-5:] == ["device", "experiment", "threads", "quantity_seconds", "warnings"]
    with ResultStore(tmp_path / "other.sqlite") as store:
        opened = [row[1] for row in store._connection.execute("PRAGMA table_info(tasks)")]
    assert opened == columns


def test_a_store_of_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    with ResultStore(path) as store:
        store.put(make_record())
        store._connection.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(InvalidArgumentError) as caught:
        ResultStore(path)
    assert caught.value.argument == "store schema_version" and caught.value.value == SCHEMA_VERSION + 1
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION + 1)
    connection.close()


@pytest.mark.parametrize(
    "content",
    [b"task_id,status\na1,ok\n" * 20, b"SQLite format 3\x00" + b"\xff" * 200],
    ids=["csv", "corrupt-header"],
)
def test_a_file_that_is_not_a_store_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidArgumentError) as caught:
        ResultStore(path)
    assert caught.value.argument == "store"
    assert path.read_bytes() == content


def test_an_sqlite_file_of_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE things (x INTEGER)")
    connection.close()
    with pytest.raises(InvalidArgumentError) as caught:
        ResultStore(path)
    assert caught.value.argument == "store"


# --- frames -------------------------------------------------------------------------------------------


def test_to_frame_flattens_spec_and_metrics_with_numeric_dtypes(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put(make_record("a1", metrics={"norm": 0.5, "n_hvp": 10, "ok": True, "verdict": "pass"}))
        store.put(
            make_record(
                "b2",
                status="diverged",
                message="loss became inf",
                peak_memory_bytes=None,
                metrics={"norm": math.nan, "n_hvp": 12, "ok": False, "extra": 3},
            )
        )
        frame = store.to_frame()
    assert list(frame["task_id"]) == ["a1", "b2"]
    assert {"status", "message", "wall_seconds", "peak_memory_bytes", "device"} <= set(frame.columns)
    assert {"rscbench_version", "measurement_version", "started_at", "finished_at"} <= set(frame.columns)
    assert {"spec.model.width", "spec.model.activation", "spec.seed", "spec.probes"} <= set(frame.columns)
    assert not any(column.startswith("spec.model") and column.count(".") < 2 for column in frame.columns)
    assert frame["spec.model.width"].tolist() == [64, 64] and frame["spec.probes"][0] == (1, 2)
    assert pd.api.types.is_float_dtype(frame["metric.norm"]) and math.isnan(frame["metric.norm"][1])
    assert pd.api.types.is_integer_dtype(frame["metric.n_hvp"])
    assert pd.api.types.is_float_dtype(frame["metric.extra"]) and math.isnan(frame["metric.extra"][0])
    assert pd.api.types.is_bool_dtype(frame["metric.ok"])
    assert frame["metric.verdict"].tolist()[0] == "pass"
    assert pd.api.types.is_float_dtype(frame["wall_seconds"])
    assert str(frame["peak_memory_bytes"].dtype) == "Int64" and frame[
        "peak_memory_bytes"
    ].isna().tolist() == [
        False,
        True,
    ]
    assert str(frame["finished_at"].dt.tz) == "UTC"
    assert frame.set_index("task_id").loc["b2", "status"] == "diverged"


def test_to_frame_carries_experiment_threads_timings_and_warnings(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put(
            make_record(
                "a1",
                experiment="width-sweep",
                threads=2,
                quantity_seconds={"setup": 0.25, "Q1": 1.5},
                warnings=["Q1: 3 of 16 predictor-Hessian norms stopped at max_iter=128 above tol=0.001"],
            )
        )
        store.put(make_record("b2"))
        assert store.get("a1").quantity_seconds == {"setup": 0.25, "Q1": 1.5}
        frame = store.to_frame().set_index("task_id")
    assert frame.loc["a1", "experiment"] == "width-sweep" and pd.isna(frame.loc["b2", "experiment"])
    assert str(frame["threads"].dtype) == "Int64" and frame.loc["a1", "threads"] == 2
    assert frame.loc["a1", "seconds.Q1"] == 1.5 and math.isnan(frame.loc["b2", "seconds.setup"])
    assert frame.loc["a1", "warnings"][0].startswith("Q1: ") and frame.loc["b2", "warnings"] == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threads", 0),
        ("threads", True),
        ("experiment", 3),
        ("quantity_seconds", {"Q1": -1.0}),
        ("quantity_seconds", {"Q1": "fast"}),
        ("warnings", "one warning"),
    ],
)
def test_bad_provenance_fields_are_refused_by_name(field: str, value: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        make_record(**{field: value})
    assert caught.value.argument.startswith(field)


def test_to_frame_of_an_empty_store_has_the_outcome_columns(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        frame = store.to_frame()
    assert frame.empty and {"task_id", "status", "wall_seconds", "device"} <= set(frame.columns)


def test_trajectory_frame_has_one_row_per_task_and_step(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put(make_record("a1", trajectory=[{"loss": 1.0, "rsc_lower": 0.1}, {"loss": 0.5}]))
        store.put(make_record("b2", trajectory=[{"step": 0, "loss": 2.0}, {"step": 10, "loss": math.inf}]))
        store.put(make_record("c3", trajectory=[]))
        frame = store.trajectory_frame()
    assert list(zip(frame["task_id"], frame["step"], strict=True)) == [
        ("a1", 0),
        ("a1", 1),
        ("b2", 0),
        ("b2", 10),
    ]
    assert pd.api.types.is_integer_dtype(frame["step"]) and pd.api.types.is_float_dtype(frame["loss"])
    assert frame["loss"].iloc[-1] == math.inf and math.isnan(frame["rsc_lower"].iloc[1])
    with ResultStore(tmp_path / "empty.sqlite") as store:
        assert list(store.trajectory_frame().columns) == ["task_id", "step"]


# --- merging and record files -------------------------------------------------------------------------


def test_merge_keys_by_task_id_prefers_ok_then_the_later_finish(tmp_path: Path) -> None:
    early, late = "2026-05-01T10:00:00+00:00", "2026-05-02T10:00:00Z"
    with ResultStore(tmp_path / "mine.sqlite") as mine, ResultStore(tmp_path / "theirs.sqlite") as theirs:
        mine.put(make_record("both-ok-mine", finished_at=early))
        theirs.put(make_record("both-ok-mine", status="failed", message="x", finished_at=late))
        mine.put(make_record("ok-theirs", status="timeout", message="slow", finished_at=late))
        theirs.put(make_record("ok-theirs", finished_at=early))
        mine.put(make_record("later-theirs", status="failed", message="old", finished_at=early))
        theirs.put(make_record("later-theirs", status="diverged", message="new", finished_at=late))
        mine.put(make_record("only-mine"))
        theirs.put(make_record("only-theirs"))
        assert mine.merge(theirs) == 3
        assert mine.merge(tmp_path / "theirs.sqlite") == 0  # by path too; again adds nothing
        assert mine.merge(mine) == 0
        assert len(mine) == 5 and len(mine.to_frame()) == 5
        assert mine.get("both-ok-mine").status == "ok"
        assert mine.get("ok-theirs").status == "ok"
        assert mine.get("later-theirs").message == "new"
        assert mine.has("only-theirs") and len(theirs) == 4


def test_record_files_are_written_and_ingested_once(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    records = [make_record(f"t{i}", metrics={"loss": math.nan, "i": i}) for i in range(3)]
    paths = [write_record_file(record, folder) for record in records]
    assert [path.name for path in paths] == ["t0.json", "t1.json", "t2.json"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "t0.json",
        "t1.json",
        "t2.json",
    ]  # no temporaries left
    json.loads(paths[0].read_text(), parse_constant=lambda token: pytest.fail(f"non-strict JSON {token}"))
    assert_same_record(read_record_file(paths[0]), records[0])
    with ResultStore(tmp_path / "s.sqlite") as store:
        assert store.ingest(paths[:2]) == 2
        assert store.ingest(folder) == 1  # a folder means its *.json; t0 and t1 are already in
        assert store.ingest(folder) == 0 and store.ingest(paths[0]) == 0
        assert len(store) == 3
        assert_same_record(store.get("t1"), records[1])


def test_ingest_refuses_a_bad_file_before_storing_anything(tmp_path: Path) -> None:
    good = write_record_file(make_record("g1"), tmp_path)
    bad = tmp_path / "b2.json"
    bad.write_text(json.dumps(record_dict("b2", status="exploded")))
    broken = tmp_path / "c3.json"
    broken.write_text("{not json")
    with ResultStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(InvalidArgumentError) as caught:
            store.ingest([good, bad])
        assert caught.value.argument == f"status in {bad}"
        with pytest.raises(InvalidArgumentError) as caught:
            store.ingest([good, broken])
        assert caught.value.argument == "record file"
        with pytest.raises(InvalidArgumentError):
            store.ingest([tmp_path / "missing.json"])
        assert len(store) == 0
