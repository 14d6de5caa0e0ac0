"""A task's stored record (TaskRecord), its strict-JSON encoding, and one-record files for array jobs.

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
import tempfile
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rscbench.errors import InvalidArgumentError

__all__ = [
    "STATUSES",
    "Scalar",
    "TaskRecord",
    "dumps_strict",
    "preferred_record",
    "read_record_file",
    "scalar_dict",
    "write_record_file",
]

STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "diverged")
"""The outcomes a task can have; a diverged GD run is an outcome, not a failure of the benchmark."""

_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_FLOAT_TAG = "$float"
_NONFINITE = ("nan", "inf", "-inf")

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


def dumps_strict(value: Any) -> str:
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


def scalar_dict(value: Any, argument: str) -> dict[str, Scalar]:
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

    Provenance added by store schema 4 (optional, so older records and record files still read):
    ``experiment`` names the suite experiment the task ran for (None outside a suite), ``threads``
    the torch intra-op thread count it ran with (None: not recorded), ``quantity_seconds`` the wall
    seconds of each part of the task (``setup`` for data and model, then each quantity code, a
    piece shared by several quantities timed under the first requested one), and ``warnings`` every
    warning raised while measuring, each starting with the quantity that raised it.

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
    experiment: str | None = None
    threads: int | None = None
    quantity_seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

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
        object.__setattr__(self, "metrics", scalar_dict(self.metrics, "metrics"))
        if not isinstance(self.trajectory, list | tuple):
            raise InvalidArgumentError("trajectory", self.trajectory, "a list of dicts, one per GD step")
        steps = [scalar_dict(step, f"trajectory[{i}]") for i, step in enumerate(self.trajectory)]
        object.__setattr__(self, "trajectory", steps)
        if self.experiment is not None and not isinstance(self.experiment, str):
            raise InvalidArgumentError("experiment", self.experiment, "a str or None")
        threads = self.threads
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
                raise InvalidArgumentError("threads", threads, "an int number of threads >= 1, or None")
            object.__setattr__(self, "threads", int(threads))
        seconds = scalar_dict(self.quantity_seconds, "quantity_seconds")
        for name, value in seconds.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise InvalidArgumentError(
                    f"quantity_seconds.{name}", value, "a finite number of seconds >= 0"
                )
        object.__setattr__(self, "quantity_seconds", {name: float(value) for name, value in seconds.items()})
        if not isinstance(self.warnings, list | tuple) or not all(isinstance(w, str) for w in self.warnings):
            raise InvalidArgumentError("warnings", self.warnings, "a list of str")
        object.__setattr__(self, "warnings", list(self.warnings))
        for name in ("started_at", "finished_at"):
            if not _is_utc_timestamp(getattr(self, name)):
                raise InvalidArgumentError(name, getattr(self, name), "an ISO-8601 UTC timestamp")

    def to_dict(self) -> dict[str, Any]:
        """The record as strict JSON data (non-finite floats tagged): the format of record files."""
        return {field.name: _encode(getattr(self, field.name)) for field in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskRecord:
        """The record that ``data`` (from :meth:`to_dict`, a record file or the runner) describes.

        Fields with a default (the provenance of store schema 4) may be missing. Raises
        :class:`~rscbench.errors.InvalidArgumentError` naming the first missing, unknown or badly
        typed field.
        """
        if not isinstance(data, Mapping):
            raise InvalidArgumentError("record", type(data).__name__, "a dict of record fields")
        names = [field.name for field in fields(cls)]
        unknown = sorted(str(key) for key in data if key not in names)
        if unknown:
            raise InvalidArgumentError("record", unknown, f"only the fields {', '.join(names)}")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        for name in required:
            if name not in data:
                raise InvalidArgumentError(name, "<missing>", "a required record field")
        return cls(**data)


def preferred_record(incoming: TaskRecord, current: TaskRecord) -> bool:
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
