"""Report folders on disk: each written under a hidden scratch name and renamed into place once
complete, named so that two never collide, and listed (by readers and in reports/index.json) only
when complete and readable.

A report folder is ``<run dir>/<UTC timestamp>-<commit8>`` (``-2``, ``-3``... appended when that
name is taken, e.g. two reports in one second). While it is written it is
``<run dir>/.incomplete-<name>-<random>``: a run killed mid-report leaves only such a hidden folder,
which every reader skips.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rscbench.errors import RscbenchError
from rscbench.report.schema import load_report

__all__ = ["INCOMPLETE_PREFIX", "complete_reports", "place_folder", "scratch_folder", "update_index"]

INCOMPLETE_PREFIX = ".incomplete-"
_MAX_SUFFIX = 1000


def scratch_folder(run_dir: Path, name: str) -> Path:
    """A new hidden folder in ``run_dir`` (created if missing) to write the report ``name`` into."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{INCOMPLETE_PREFIX}{name}-", dir=run_dir))


def place_folder(scratch: Path, run_dir: Path, name: str) -> Path:
    """Rename the complete ``scratch`` folder to ``run_dir/name`` (or ``name-2``, ``name-3``... when
    taken) in one atomic step, and return where it now is."""
    for number in range(1, _MAX_SUFFIX):
        target = run_dir / (name if number == 1 else f"{name}-{number}")
        if target.exists():
            continue
        try:
            scratch.rename(target)  # atomic; fails if a folder of that name appeared meanwhile
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue
            raise
        return target
    raise RscbenchError(f"no free report folder name for {name} in {run_dir} ({_MAX_SUFFIX} taken)")


def complete_reports(run_dir: Path) -> list[Path]:
    """The ``report.json`` of every complete report folder directly in ``run_dir``, oldest first
    (hidden scratch folders left out)."""
    if not run_dir.is_dir():
        return []
    found = [
        path
        for path in run_dir.glob("*/report.json")
        if not path.parent.name.startswith(".") and path.is_file()
    ]
    return sorted(found, key=lambda path: path.parent.name)


def update_index(reports_root: Path) -> Path:
    """Rewrite ``reports_root/index.json`` (atomically): every complete report below it
    (``<suite>/<report>/``) that reads, newest first, with its headline. A file or folder under
    reports_root that is not a readable report is left out, never fatal."""
    entries = []
    for suite_dir in sorted(p for p in reports_root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in complete_reports(suite_dir):
            try:
                document = load_report(path)
            except RscbenchError:
                continue
            entries.append(_entry(document, str(path.parent.relative_to(reports_root))))
    entries.sort(key=lambda entry: entry["created_at"] or "", reverse=True)
    index = reports_root / "index.json"
    handle, temporary = tempfile.mkstemp(prefix=".index-", suffix=".json", dir=reports_root)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump({"reports": entries}, file, indent=1)
        os.replace(temporary, index)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return index


def _entry(document: dict[str, Any], path: str) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for verdict in document["verdicts"]:
        statuses[verdict["status"]] = statuses.get(verdict["status"], 0) + 1
    return {
        "path": path,
        "suite": document["suite"]["name"],
        "created_at": document.get("created_at"),
        "commit": document.get("git", {}).get("commit"),
        "schema_version": document["schema_version"],
        "verdicts": statuses,
    }
