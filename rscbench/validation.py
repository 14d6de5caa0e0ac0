"""The one validation layer for what reaches rscbench from outside (flags, suite and entry files, npz
files, stores, reports, scores): numbers that must be finite and bounded, files that must be UTF-8
text or JSON, documents whose fields must have a type, and folders a command may write into.

Every refusal is an InvalidArgumentError naming the argument (for a file: its path and the field),
the bad value and what is allowed, which the command line prints as one line with exit code 2.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rscbench.errors import InvalidArgumentError

__all__ = [
    "MAX_BYTES",
    "MAX_INTEGER",
    "MAX_SECONDS",
    "SYSTEM_FOLDERS",
    "Field",
    "check_document",
    "read_json",
    "read_text",
    "require_number",
    "writable_folder",
]

MAX_INTEGER = 2**63 - 1
"""The largest integer field (a seed, a width, a count): they are stored as signed 64-bit integers
(SQLite, numpy, pandas)."""
MAX_SECONDS = 10**7
"""The longest time limit, in seconds (about 116 days; the system timer's range ends not far above)."""
MAX_BYTES = 2**60
"""The largest memory budget, in bytes (1 EiB)."""
SYSTEM_FOLDERS = frozenset(
    map(
        Path,
        (
            "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media",
            "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
        ),
    )
)  # fmt: skip
"""Folders no command writes its output straight into (their subfolders are fine)."""


def require_number(
    argument: str,
    value: Any,
    *,
    greater_than: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    less_than: float | None = None,
) -> float:
    """``value`` as a float when it is a finite real number (not a bool) within the given bounds;
    else raise InvalidArgumentError saying which numbers are allowed."""
    bounds = [
        (greater_than, "> {}", lambda v, b: v > b),
        (at_least, ">= {}", lambda v, b: v >= b),
        (at_most, "<= {}", lambda v, b: v <= b),
        (less_than, "< {}", lambda v, b: v < b),
    ]
    allowed = " and ".join(text.format(f"{bound:g}") for bound, text, _ in bounds if bound is not None)
    finite = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(float(value))
    if not finite or not all(test(float(value), bound) for bound, _, test in bounds if bound is not None):
        raise InvalidArgumentError(argument, value, "a finite number" + (f" {allowed}" if allowed else ""))
    return float(value)


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The UTF-8 text of the file at ``path``; ``what`` names it in the error (e.g. "suite file")."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidArgumentError(
            what, str(path), f"a UTF-8 text file (byte {error.start} is not UTF-8)"
        ) from None
    except OSError as error:
        raise InvalidArgumentError(what, str(path), f"a readable file ({error.strerror})") from None


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """The JSON document in the UTF-8 file at ``path`` (errors as :func:`read_text`, or naming where
    the JSON breaks)."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidArgumentError(
            what, str(path), f"valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:
        raise InvalidArgumentError(what, str(path), "JSON nested less deeply") from None


_KIND_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


@dataclass(frozen=True)
class Field:
    """What a document's field may hold: values of ``kinds`` (an int counts as a float, a bool as
    neither); ``fields`` for an object's own fields, ``items`` for a list whose items are objects
    with those fields; ``required`` False lets it be absent."""

    kinds: tuple[type, ...]
    required: bool = True
    fields: Mapping[str, Field] | None = None
    items: Mapping[str, Field] | None = None

    def holds(self, value: Any) -> bool:
        """Whether ``value`` is of one of the kinds (its own fields and items unchecked)."""
        if isinstance(value, bool):
            return bool in self.kinds
        if isinstance(value, int) and float in self.kinds:
            return True
        return isinstance(value, self.kinds)

    def allowed(self) -> str:
        """The kinds in words, as an error message lists them."""
        names = [_KIND_NAMES[kind] for kind in self.kinds]
        described = " or ".join(dict.fromkeys(names))
        if self.items is not None:
            described += " of objects with " + ", ".join(self.items)
        elif self.fields is not None:
            described += " with " + ", ".join(name for name, field in self.fields.items() if field.required)
        return described


def check_document(document: Any, where: str, fields: Mapping[str, Field]) -> None:
    """Raise InvalidArgumentError unless ``document`` is an object whose ``fields`` hold what each
    allows (recursively); ``where`` (a file, or a file and a path inside it) names it in the error."""
    if not isinstance(document, dict):
        raise InvalidArgumentError(where, type(document).__name__, "an object with " + ", ".join(fields))
    for name, field in fields.items():
        here = f"{where}: {name}"
        if name not in document:
            if field.required:
                raise InvalidArgumentError(here, "<missing>", field.allowed())
            continue
        value = document[name]
        if not field.holds(value):
            raise InvalidArgumentError(here, _shown(value), field.allowed())
        if field.fields is not None and isinstance(value, dict):
            check_document(value, here, field.fields)
        if field.items is not None and isinstance(value, list):
            for index, item in enumerate(value):
                check_document(item, f"{where}: {name}[{index}]", field.items)


def _shown(value: Any) -> Any:
    """A bad value as an error message shows it: scalars as they are, containers by their kind."""
    return value if isinstance(value, (str, int, float, type(None))) else type(value).__name__


def writable_folder(argument: str, path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder this process may write into, created if missing.

    Refuses a system folder itself (:data:`SYSTEM_FOLDERS`, or the user's home folder), a path that
    is or runs through a file, and a folder that refuses a new file. The check writes one temporary
    file and removes it.
    """
    folder = Path(path).expanduser()
    resolved = folder.resolve()
    if resolved in SYSTEM_FOLDERS or resolved == Path.home().resolve():
        raise InvalidArgumentError(
            argument, str(path), "a folder of its own, not a system or home folder itself (e.g. a subfolder)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".rscbench-write-test-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise InvalidArgumentError(
            argument, str(path), f"a folder this user may write ({error.strerror})"
        ) from None
    return folder
