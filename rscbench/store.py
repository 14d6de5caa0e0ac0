"""The result store: one SQLite file holding every finished task's record, keyed by task id.

A :class:`TaskRecord` is what the runner hands over when a task ends (an outcome, its scalar metrics
and its GD trajectory). :class:`ResultStore` keeps them in an SQLite file (stdlib ``sqlite3``) with
one transaction per record, so a ``kill -9`` of the driver loses only the tasks still in flight, and
reads them back as records or as pandas frames. Stores from several machines merge by task id, and
record files written one per task (for a scheduler's array jobs, see :func:`write_record_file`) are
ingested the same way.

Only one process writes a store: the driver. The file uses WAL journaling and a busy timeout, so
other processes (a report, a notebook) may read it while the driver writes, but two writers are not
supported.

The schema is versioned: ``meta.schema_version`` says which of the numbered :data:`MIGRATIONS` have
been applied, and opening a store applies the missing ones in order, inside one transaction. A store
written by a newer rscbench is refused, never misread.

JSON has no NaN or infinity, so non-finite floats in a record's spec, metrics and trajectory are
written as ``{"$float": "nan"}``, ``{"$float": "inf"}`` or ``{"$float": "-inf"}`` (in the store and in
record files alike) and read back as floats.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from rscbench.errors import InvalidArgumentError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "ResultStore",
    "TaskRecord",
    "read_record_file",
    "write_record_file",
]

STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "diverged")
"""The outcomes a task can have; a diverged GD run is an outcome, not a failure of the benchmark."""

_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_FLOAT_TAG = "$float"
_NONFINITE = ("nan", "inf", "-inf")
_BUSY_TIMEOUT_S = 30.0

Scalar = float | int | bool | str | None
"""The type of a metric value and of a trajectory step's entries."""


# --- JSON with explicit non-finite floats -------------------------------------------------------------


def _encode(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its ``{"$float": ...}`` tag (a deep copy)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT_TAG: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    """Strict JSON text of ``value`` (non-finite floats tagged)."""
    return json.dumps(_encode(value), allow_nan=False, ensure_ascii=False)


def _scalar(value: Any, argument: str) -> Scalar:
    """A metric or trajectory value as a plain JSON scalar; a ``{"$float": ...}`` tag becomes a float."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, dict) and value.keys() == {_FLOAT_TAG} and value[_FLOAT_TAG] in _NONFINITE:
        return float(value[_FLOAT_TAG])
    raise InvalidArgumentError(argument, value, "a float, int, bool, str or None")


def _json_tree(value: Any, argument: str) -> Any:
    """A spec value as plain JSON data (dicts with str keys, lists, scalars); tuples become lists."""
    if isinstance(value, Mapping) and not (value.keys() == {_FLOAT_TAG} and value[_FLOAT_TAG] in _NONFINITE):
        tree = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgumentError(argument, key, "str keys")
            tree[key] = _json_tree(item, f"{argument}.{key}")
        return tree
    if isinstance(value, list | tuple):
        return [_json_tree(item, f"{argument}[{i}]") for i, item in enumerate(value)]
    return _scalar(value, argument)


def _scalar_dict(value: Any, argument: str) -> dict[str, Scalar]:
    """A dict of str names to scalars (the metrics, or one trajectory step)."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(argument, value, "a dict of str names to scalars")
    result = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(argument, key, "non-empty str names")
        result[key] = _scalar(item, f"{argument}.{key}")
    return result


def _is_utc_timestamp(stamp: Any) -> bool:
    """Whether ``stamp`` is an ISO-8601 timestamp in UTC (with a zero offset, or none)."""
    try:
        return not datetime.fromisoformat(stamp).utcoffset()
    except (TypeError, ValueError):
        return False


def _utc(timestamp: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (a timestamp without an offset is read as UTC)."""
    moment = datetime.fromisoformat(timestamp)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- the record ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRecord:
    """The outcome of one task, as stored: what ran, how it ended, and what it measured.

    ``task_id`` is the content hash of the task's canonical ``spec`` (letters, digits, ``._-``; it
    names the task's record file). ``status`` is one of :data:`STATUSES`, with ``message`` saying
    why when it is not ``"ok"``. ``wall_seconds`` is the task's wall-clock time in seconds and
    ``peak_memory_bytes`` its peak memory in bytes (None where not measured). ``metrics`` maps each
    scalar result's name to its value; ``trajectory`` holds one dict per recorded GD step (empty
    when the task ran no GD). ``started_at``/``finished_at`` are ISO-8601 UTC timestamps.

    Fields are validated and normalised on construction (ints and floats of other numeric types
    become ``int``/``float``, tuples in the spec become lists); a bad field raises
    :class:`~rscbench.errors.InvalidArgumentError` naming it.
    """

    task_id: str
    spec: dict[str, Any]
    status: str
    message: str
    wall_seconds: float
    peak_memory_bytes: int | None
    metrics: dict[str, Scalar]
    trajectory: list[dict[str, Scalar]]
    started_at: str
    finished_at: str
    rscbench_version: str
    measurement_version: str
    device: str

    def __post_init__(self) -> None:
        """Validate every field and normalise it to plain JSON data."""
        if not isinstance(self.task_id, str) or not _TASK_ID.fullmatch(self.task_id):
            raise InvalidArgumentError("task_id", self.task_id, "a content hash of letters, digits and ._-")
        if not isinstance(self.spec, Mapping):
            raise InvalidArgumentError("spec", self.spec, "a dict (the task's canonical spec)")
        object.__setattr__(self, "spec", _json_tree(dict(self.spec), "spec"))
        if self.status not in STATUSES:
            raise InvalidArgumentError("status", self.status, f"one of {', '.join(STATUSES)}")
        for name in ("message", "rscbench_version", "measurement_version", "device"):
            if not isinstance(getattr(self, name), str):
                raise InvalidArgumentError(name, getattr(self, name), "a str")
        wall = self.wall_seconds
        if isinstance(wall, bool) or not isinstance(wall, numbers.Real) or not 0 <= wall < math.inf:
            raise InvalidArgumentError("wall_seconds", wall, "a finite number of seconds >= 0")
        object.__setattr__(self, "wall_seconds", float(wall))
        peak = self.peak_memory_bytes
        if peak is not None:
            if isinstance(peak, bool) or not isinstance(peak, numbers.Integral) or peak < 0:
                raise InvalidArgumentError("peak_memory_bytes", peak, "an int number of bytes >= 0, or None")
            object.__setattr__(self, "peak_memory_bytes", int(peak))
        object.__setattr__(self, "metrics", _scalar_dict(self.metrics, "metrics"))
        if not isinstance(self.trajectory, list | tuple):
            raise InvalidArgumentError("trajectory", self.trajectory, "a list of dicts, one per GD step")
        steps = [_scalar_dict(step, f"trajectory[{i}]") for i, step in enumerate(self.trajectory)]
        object.__setattr__(self, "trajectory", steps)
        for name in ("started_at", "finished_at"):
            if not _is_utc_timestamp(getattr(self, name)):
                raise InvalidArgumentError(name, getattr(self, name), "an ISO-8601 UTC timestamp")

    def to_dict(self) -> dict[str, Any]:
        """The record as strict JSON data (non-finite floats tagged): the format of record files."""
        return {field.name: _encode(getattr(self, field.name)) for field in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskRecord:
        """The record that ``data`` (from :meth:`to_dict`, a record file or the runner) describes.

        Raises :class:`~rscbench.errors.InvalidArgumentError` naming the first missing, unknown or
        badly typed field.
        """
        if not isinstance(data, Mapping):
            raise InvalidArgumentError("record", type(data).__name__, "a dict of record fields")
        names = [field.name for field in fields(cls)]
        unknown = sorted(str(key) for key in data if key not in names)
        if unknown:
            raise InvalidArgumentError("record", unknown, f"only the fields {', '.join(names)}")
        for name in names:
            if name not in data:
                raise InvalidArgumentError(name, "<missing>", "a required record field")
        return cls(**data)


def _preferred(incoming: TaskRecord, current: TaskRecord) -> bool:
    """Whether ``incoming`` should replace ``current`` (same task id) when stores or files merge.

    A record with status ``"ok"`` beats one without; otherwise the later ``finished_at`` wins, and
    on a tie the current record stays (so merging the same thing twice changes nothing).
    """
    if (incoming.status == "ok") != (current.status == "ok"):
        return incoming.status == "ok"
    return _utc(incoming.finished_at) > _utc(current.finished_at)


# --- record files -------------------------------------------------------------------------------------


def write_record_file(record: TaskRecord | Mapping[str, Any], directory: str | os.PathLike[str]) -> Path:
    """Write ``record`` to ``<directory>/<task_id>.json`` atomically and return that path.

    For cluster array jobs: each job writes its task's file, and the driver reads them all with
    :meth:`ResultStore.ingest`. The file is written under a temporary name, flushed to disk and
    renamed, so a job killed mid-write never leaves a partial record behind.
    """
    record = record if isinstance(record, TaskRecord) else TaskRecord.from_dict(record)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{record.task_id}.json"
    text = json.dumps(record.to_dict(), allow_nan=False, ensure_ascii=False, indent=1)
    handle, temporary = tempfile.mkstemp(prefix=f".{record.task_id}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def read_record_file(path: str | os.PathLike[str]) -> TaskRecord:
    """The record in a file written by :func:`write_record_file`.

    Raises :class:`~rscbench.errors.InvalidArgumentError` when the file is not JSON (argument
    ``"record file"``) or a field is bad (argument ``"<field> in <path>"``).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgumentError("record file", str(path), f"a readable JSON record ({exc})") from exc
    try:
        return TaskRecord.from_dict(data)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{exc.argument} in {path}", exc.value, exc.allowed) from exc


# --- schema and migrations ----------------------------------------------------------------------------


def _create_tables(connection: sqlite3.Connection) -> None:
    """Migration 1: the ``meta`` key-value table and the ``tasks`` table, one row per task."""
    connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    connection.execute(
        """CREATE TABLE tasks (
            task_id TEXT PRIMARY KEY,
            spec TEXT NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL,
            wall_seconds REAL NOT NULL,
            peak_memory_bytes INTEGER,
            metrics TEXT NOT NULL,
            trajectory TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            rscbench_version TEXT NOT NULL,
            measurement_version TEXT NOT NULL
        )"""
    )


def _add_device_column(connection: sqlite3.Connection) -> None:
    """Migration 2: the device each task ran on; tasks stored before it read ``"unknown"``."""
    connection.execute("ALTER TABLE tasks ADD COLUMN device TEXT NOT NULL DEFAULT 'unknown'")


def _index_status(connection: sqlite3.Connection) -> None:
    """Migration 3: an index on status, for finding failed tasks without a full scan."""
    connection.execute("CREATE INDEX tasks_by_status ON tasks (status)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_create_tables, _add_device_column, _index_status]
"""Numbered schema migrations: ``MIGRATIONS[k - 1]`` upgrades a store from version k-1 to k.

Append only: a released migration is never edited, since stores written with it exist.
"""

SCHEMA_VERSION: int = len(MIGRATIONS)
"""The newest store schema this code reads and writes."""

_COLUMNS = tuple(field.name for field in fields(TaskRecord))
_JSON_COLUMNS = ("spec", "metrics", "trajectory")


# --- the store ----------------------------------------------------------------------------------------


class ResultStore:
    """An SQLite file of task records, keyed by task id, written by one process (the driver).

    Opening creates the file (and its folder) if needed and upgrades an older schema in place;
    a file that is not an SQLite database, not an rscbench store, or of a newer schema than
    :data:`SCHEMA_VERSION` raises :class:`~rscbench.errors.InvalidArgumentError` (argument
    ``"store"`` or ``"store schema_version"``) and is left untouched.

    Each :meth:`put` is one committed transaction, so everything stored survives a ``kill -9`` of the
    process. Other processes may read while the driver writes (WAL journal, busy timeout of
    30 s), but only one process may write. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open the store at ``path``, creating it if needed and upgrading an older schema."""
        self.path = Path(path)
        if self.path.is_dir():
            raise InvalidArgumentError("store", str(self.path), "a file path, not a directory")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        try:
            self._open()
        except sqlite3.OperationalError:  # locked, unreadable, disk full: not a question of format
            self._connection.close()
            raise
        except sqlite3.DatabaseError as exc:  # not a database, or a corrupt one
            self._connection.close()
            raise InvalidArgumentError("store", str(self.path), f"an rscbench SQLite store ({exc})") from exc
        except BaseException:
            self._connection.close()
            raise

    def _open(self) -> None:
        """Check what the file is, switch it to WAL, and apply the migrations it lacks."""
        version = self._schema_version()  # reads first: a file that is not a database fails here
        self._connection.execute("PRAGMA journal_mode = WAL")
        self._connection.execute("PRAGMA synchronous = FULL")
        if version < SCHEMA_VERSION:
            with self._transaction():
                version = self._schema_version()  # again under the write lock
                for number in range(version + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[number - 1](self._connection)
                self._connection.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )

    def _schema_version(self) -> int:
        """The file's schema version: 0 for an empty file; refuses a database that is not a store."""
        tables = {row[0] for row in self._connection.execute("SELECT name FROM sqlite_master")}
        if not tables:
            return 0
        if "meta" not in tables:
            raise InvalidArgumentError(
                "store", str(self.path), "an rscbench store (this file has no meta table)"
            )
        row = self._connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        value = None if row is None else row[0]
        if not (isinstance(value, str) and value.isdigit() and int(value) > 0):
            raise InvalidArgumentError("store schema_version", value, "a positive integer")
        version = int(value)
        if version > SCHEMA_VERSION:
            raise InvalidArgumentError(
                "store schema_version", version, f"at most {SCHEMA_VERSION} (a newer rscbench wrote it)"
            )
        return version

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, committed on success and rolled back on any exception."""
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._connection.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (always :data:`SCHEMA_VERSION` once opened)."""
        return self._schema_version()

    # writing

    def _insert(self, record: TaskRecord) -> None:
        """INSERT OR REPLACE one record's row (inside the caller's transaction)."""
        values = [
            _dumps(getattr(record, name)) if name in _JSON_COLUMNS else getattr(record, name)
            for name in _COLUMNS
        ]
        self._connection.execute(
            f"INSERT OR REPLACE INTO tasks ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            values,
        )

    def _offer(self, record: TaskRecord) -> bool:
        """Store ``record`` unless this store already holds a preferred one for its task; say if stored."""
        current = self.get(record.task_id)
        if current is not None and not _preferred(record, current):
            return False
        self._insert(record)
        return True

    def put(self, record: TaskRecord | Mapping[str, Any]) -> None:
        """Store ``record`` (a :class:`TaskRecord` or its dict), replacing any record of its task id.

        One transaction, committed before this returns: a crash afterwards loses nothing.
        """
        record = record if isinstance(record, TaskRecord) else TaskRecord.from_dict(record)
        with self._transaction():
            self._insert(record)

    def merge(self, other: ResultStore | str | os.PathLike[str]) -> int:
        """Copy every task of ``other`` (a store, or the path of one) into this store.

        Tasks are keyed by task id, so nothing is duplicated. Where both stores hold a task, a
        record with status ``"ok"`` beats a failure (``failed``, ``timeout`` or ``diverged``);
        otherwise the later ``finished_at`` wins, and on a tie this store's record stays. Opening a
        path upgrades that store's schema in place, as any open does. All in one transaction.
        Returns how many tasks were added or replaced.
        """
        if other is self:
            return 0
        source = other if isinstance(other, ResultStore) else ResultStore(other)
        try:
            with self._transaction():
                return sum(self._offer(record) for record in source.records())
        finally:
            if source is not other:
                source.close()

    def ingest(self, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> int:
        """Read record files (see :func:`write_record_file`) into this store; a folder means its ``*.json``.

        Every file is read and validated before anything is stored; then all are stored in one
        transaction, by the same rule as :meth:`merge`, so ingesting a file twice adds nothing.
        Returns how many tasks were added or replaced.
        """
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        files: list[Path] = []
        for path in map(Path, paths):
            if path.is_dir():
                files.extend(sorted(path.glob("*.json")))
            elif path.is_file():
                files.append(path)
            else:
                raise InvalidArgumentError("record file", str(path), "an existing record file or folder")
        records = [read_record_file(file) for file in files]
        with self._transaction():
            return sum(self._offer(record) for record in records)

    # reading

    def _record(self, row: sqlite3.Row | tuple[Any, ...]) -> TaskRecord:
        """The record of one ``SELECT <_COLUMNS>`` row."""
        data = dict(zip(_COLUMNS, row, strict=True))
        for name in _JSON_COLUMNS:
            data[name] = json.loads(data[name])
        return TaskRecord.from_dict(data)

    def has(self, task_id: str) -> bool:
        """Whether a record of ``task_id`` is stored."""
        query = "SELECT 1 FROM tasks WHERE task_id = ?"
        return self._connection.execute(query, (task_id,)).fetchone() is not None

    def task_ids(self) -> set[str]:
        """The ids of every stored task."""
        return {row[0] for row in self._connection.execute("SELECT task_id FROM tasks")}

    def get(self, task_id: str) -> TaskRecord | None:
        """The stored record of ``task_id``, or None."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM tasks WHERE task_id = ?"
        row = self._connection.execute(query, (task_id,)).fetchone()
        return None if row is None else self._record(row)

    def records(self) -> Iterator[TaskRecord]:
        """Every stored record, in task id order, read lazily (do not write while iterating)."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM tasks ORDER BY task_id"
        for row in self._connection.execute(query):
            yield self._record(row)

    def __len__(self) -> int:
        """The number of stored tasks."""
        return self._connection.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]

    def to_frame(self) -> pd.DataFrame:
        """One row per task: its outcome, its spec flattened and its metrics, sorted by task id.

        Columns: ``task_id``, ``status``, ``message``, ``wall_seconds`` (float), ``peak_memory_bytes``
        (nullable ``Int64``), ``device``, ``started_at``/``finished_at`` (UTC datetimes),
        ``rscbench_version``, ``measurement_version``, then ``spec.<field>`` (nested fields joined
        with dots, lists as tuples) and ``metric.<name>``. A metric column whose values are all
        numbers is numeric (missing as NaN); one of all bools is ``boolean``; else ``object``.
        """
        base = [name for name in _COLUMNS if name not in _JSON_COLUMNS]
        rows = []
        for record in self.records():
            row: dict[str, Any] = {name: getattr(record, name) for name in base}
            row.update(_flatten(record.spec, "spec."))
            row.update({f"metric.{name}": value for name, value in record.metrics.items()})
            rows.append(row)
        frame = pd.DataFrame(rows, columns=base) if not rows else pd.DataFrame(rows)
        extra = [column for column in frame.columns if column not in base]
        spec_columns = sorted(column for column in extra if column.startswith("spec."))
        metric_columns = sorted(column for column in extra if column.startswith("metric."))
        frame = frame[base + spec_columns + metric_columns]
        frame = frame.astype({"wall_seconds": "float64", "peak_memory_bytes": "Int64"})
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return _tidy_scalars(frame, metric_columns)

    def trajectory_frame(self) -> pd.DataFrame:
        """One row per (task, recorded GD step): ``task_id``, ``step`` and the step dict's keys.

        ``step`` is the step dict's own ``"step"`` entry when it has one, else the step's position
        in the trajectory. Numeric columns are numeric, as in :meth:`to_frame`.
        """
        rows = []
        for task_id, text in self._connection.execute(
            "SELECT task_id, trajectory FROM tasks ORDER BY task_id"
        ):
            steps = [_scalar_dict(step, "trajectory") for step in json.loads(text)]
            rows.extend({"task_id": task_id, "step": position, **step} for position, step in enumerate(steps))
        if not rows:
            return pd.DataFrame(columns=["task_id", "step"])
        frame = pd.DataFrame(rows)
        return _tidy_scalars(frame, [column for column in frame.columns if column != "task_id"])

    # closing

    def close(self) -> None:
        """Close the file; everything put is already committed. Closing twice is harmless."""
        self._connection.close()

    def __enter__(self) -> ResultStore:
        """The store itself, closed on leaving the ``with`` block."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Close the store."""
        self.close()


def _flatten(tree: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``tree``'s leaves keyed by their dotted paths after ``prefix``; lists become tuples."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
    return flat


def _tidy_scalars(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Make each of ``columns`` numeric when its values are all numbers, ``boolean`` when all bools."""
    for column in columns:
        values = frame[column].dropna()
        if len(values) and all(isinstance(value, bool) for value in values):
            frame[column] = frame[column].astype("boolean")
        elif all(isinstance(value, numbers.Real) and not isinstance(value, bool) for value in values):
            frame[column] = pd.to_numeric(frame[column])
    return frame
