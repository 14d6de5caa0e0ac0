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
"""

from __future__ import annotations

import json
import numbers
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from rscbench.errors import InvalidArgumentError
from rscbench.store.migrations import MIGRATIONS, SCHEMA_VERSION
from rscbench.store.records import TaskRecord, dumps_strict, preferred_record, read_record_file

__all__ = ["ResultStore", "remove_store"]

_BUSY_TIMEOUT_S = 30.0
_COLUMNS = tuple(field.name for field in fields(TaskRecord))
_JSON_COLUMNS = ("spec", "metrics", "trajectory", "quantity_seconds", "warnings")


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
        try:
            self._connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:  # a folder that refuses files, a path too long
            raise InvalidArgumentError("store", str(self.path), f"a file SQLite can open ({exc})") from None
        try:
            self._open()
        except sqlite3.OperationalError as exc:  # locked, unreadable, disk full: not a question of format
            self._connection.close()
            raise InvalidArgumentError(
                "store", str(self.path), f"a store this process can read and write ({exc})"
            ) from None
        except sqlite3.DatabaseError as exc:  # not a database, or a corrupt one
            self._connection.close()
            raise InvalidArgumentError("store", str(self.path), f"an rscbench SQLite store ({exc})") from None
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
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(tasks)")}
        missing = [name for name in _COLUMNS if name not in columns]
        if missing:
            raise InvalidArgumentError(
                "store", str(self.path), f"an rscbench store (its tasks table lacks {', '.join(missing)})"
            )

    def _schema_version(self) -> int:
        """The file's schema version: 0 for an empty file; refuses a database that is not a store."""
        tables = {row[0] for row in self._connection.execute("SELECT name FROM sqlite_master")}
        if not tables:
            return 0
        for table in ("meta", "tasks"):
            if table not in tables:
                raise InvalidArgumentError(
                    "store", str(self.path), f"an rscbench store (this file has no {table} table)"
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
            dumps_strict(getattr(record, name)) if name in _JSON_COLUMNS else getattr(record, name)
            for name in _COLUMNS
        ]
        self._connection.execute(
            f"INSERT OR REPLACE INTO tasks ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            values,
        )

    def _offer(self, record: TaskRecord) -> bool:
        """Store ``record`` unless this store already holds a preferred one for its task; say if stored."""
        current = self.get(record.task_id)
        if current is not None and not preferred_record(record, current):
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
        """The record of one ``SELECT <_COLUMNS>`` row; a row that does not read as a record raises
        InvalidArgumentError naming the store, the task and the field."""
        data = dict(zip(_COLUMNS, row, strict=True))
        where = f"store {self.path}: task {data['task_id']!r}"
        for name in _JSON_COLUMNS:
            try:
                data[name] = json.loads(data[name])
            except (TypeError, json.JSONDecodeError) as exc:
                raise InvalidArgumentError(f"{where}: {name}", _short(data[name]), f"JSON ({exc})") from None
        try:
            return TaskRecord.from_dict(data)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{where}: {exc.argument}", exc.value, exc.allowed) from None

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn a database error while reading (a damaged page, a table changed by hand) into
        InvalidArgumentError naming the store."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise InvalidArgumentError(
                "store", str(self.path), f"a readable rscbench store ({exc})"
            ) from None

    def has(self, task_id: str) -> bool:
        """Whether a record of ``task_id`` is stored."""
        query = "SELECT 1 FROM tasks WHERE task_id = ?"
        with self._reading():
            return self._connection.execute(query, (task_id,)).fetchone() is not None

    def task_ids(self, statuses: Iterable[str] | None = None) -> set[str]:
        """The ids of every stored task (only those of the given ``statuses``, when given)."""
        with self._reading():
            rows = self._connection.execute("SELECT task_id, status FROM tasks").fetchall()
        wanted = None if statuses is None else set(statuses)
        return {task_id for task_id, status in rows if wanted is None or status in wanted}

    def get(self, task_id: str) -> TaskRecord | None:
        """The stored record of ``task_id``, or None."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM tasks WHERE task_id = ?"
        with self._reading():
            row = self._connection.execute(query, (task_id,)).fetchone()
        return None if row is None else self._record(row)

    def records(self) -> Iterator[TaskRecord]:
        """Every stored record, in task id order, read lazily (do not write while iterating)."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM tasks ORDER BY task_id"
        with self._reading():
            for row in self._connection.execute(query):
                yield self._record(row)

    def __len__(self) -> int:
        """The number of stored tasks."""
        with self._reading():
            return self._connection.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]

    def to_frame(self) -> pd.DataFrame:
        """One row per task: its outcome, its spec flattened and its metrics, sorted by task id.

        Columns: ``task_id``, ``status``, ``message``, ``wall_seconds`` (float), ``peak_memory_bytes``
        (nullable ``Int64``), ``device``, ``started_at``/``finished_at`` (UTC datetimes),
        ``rscbench_version``, ``measurement_version``, ``experiment`` (missing outside a suite),
        ``threads`` (nullable ``Int64``), ``warnings`` (a tuple of str), then ``spec.<field>``
        (nested fields joined with dots, lists as tuples), ``metric.<name>`` and ``seconds.<part>``
        (wall seconds of ``setup`` and of each quantity, NaN where not timed). A metric column
        whose values are all numbers is numeric (missing as NaN); one of all bools is ``boolean``;
        else ``object``.
        """
        base = [name for name in _COLUMNS if name not in _JSON_COLUMNS] + ["warnings"]
        rows = []
        for record in self.records():
            row: dict[str, Any] = {name: getattr(record, name) for name in base}
            row["warnings"] = tuple(record.warnings)
            row.update(_flatten(record.spec, "spec."))
            row.update({f"metric.{name}": value for name, value in record.metrics.items()})
            row.update({f"seconds.{name}": value for name, value in record.quantity_seconds.items()})
            rows.append(row)
        frame = pd.DataFrame(rows, columns=base) if not rows else pd.DataFrame(rows)
        extra = [column for column in frame.columns if column not in base]
        spec_columns = sorted(column for column in extra if column.startswith("spec."))
        metric_columns = sorted(column for column in extra if column.startswith("metric."))
        seconds_columns = sorted(column for column in extra if column.startswith("seconds."))
        frame = frame[base + spec_columns + metric_columns + seconds_columns]
        frame = frame.astype(
            {"wall_seconds": "float64", "peak_memory_bytes": "Int64", "threads": "Int64"}
            | {column: "float64" for column in seconds_columns}
        )
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return _tidy_scalars(frame, metric_columns)

    def trajectory_frame(self) -> pd.DataFrame:
        """One row per (task, recorded GD step): ``task_id``, ``step`` and the step dict's keys.

        ``step`` is the step dict's own ``"step"`` entry when it has one, else the step's position
        in the trajectory. Numeric columns are numeric, as in :meth:`to_frame`.
        """
        rows = []
        for record in self.records():
            steps = record.trajectory
            rows.extend(
                {"task_id": record.task_id, "step": position, **step} for position, step in enumerate(steps)
            )
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


def remove_store(path: str | os.PathLike[str]) -> None:
    """Delete the store at ``path`` with its SQLite journal files (``-wal``, ``-shm``, ``-journal``),
    which a killed writer leaves behind and which SQLite would otherwise replay into a new store of
    the same name. Only these files are touched; a missing one is fine."""
    path = Path(path)
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _short(value: Any) -> Any:
    """A stored value as an error message shows it: text cut to 60 characters."""
    return value[:60] + "..." if isinstance(value, str) and len(value) > 60 else value


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
