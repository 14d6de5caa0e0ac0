"""The report.json schema: its version, reading a report, and migrating older schemas to the current one.

History (each step has a migration below, so every older report reads as the current schema):

* 1 — the first published layout: provenance, suite, verdicts (id, claim, subject, status,
  numbers, source), tasks, plots.
* 2 — every verdict lists the scaling laws it rests on (``fits``: metric, axis, law, exponent, CI,
  R^2, counts) and the document gathers them in a top-level ``fits`` table (one row per fit, with
  its verdict id and subject), so readers and ``rscbench compare`` need not know which verdict
  holds which numbers.

A document of a newer or unknown schema is refused, never guessed at.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rscbench.errors import InvalidArgumentError

__all__ = ["REPORT_SCHEMA_VERSION", "fits_table", "load_report", "migrate_report"]

REPORT_SCHEMA_VERSION = 2

# Schema-1 claims, word for word, and the (metric, axis) their fit numbers describe.
_SCHEMA1_FITS = {
    "max-probe ||Hessian of f|| ~ m^b with the 95% CI of b inside [-0.6, -0.4]": (
        "predictor_hessian_max",
        "model.width",
    ),
    "||g_bar||^2 ~ m^b with the CI's lower end > -1/2 (the RSC condition holds at large m)": (
        "g_bar_sqnorm",
        "model.width",
    ),
}
_SCHEMA1_DEPTH_CLAIMS = (
    "growth in depth is polynomial, not exponential, for sigma1 < 1",
    "growth in depth is exponential for sigma1 > 1 (the bound's regime)",
)
_NAN = "nan"


def _schema1_verdict_fits(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """The fits a schema-1 verdict's numbers hold, in schema-2 form (fields schema 1 lacked are NaN)."""
    numbers = verdict.get("numbers", {})
    claim = verdict.get("claim")
    if claim in _SCHEMA1_FITS:
        metric, axis = _SCHEMA1_FITS[claim]
        keys = ("exponent", "ci_low", "ci_high", "r2", "n_points", "n_x", "n_seeds", "conclusive", "reason")
        return [{"metric": metric, "axis": axis, "law": "power"} | {key: numbers.get(key) for key in keys}]
    if claim in _SCHEMA1_DEPTH_CLAIMS:
        low, high = numbers.get("exponential_rate_ci", [_NAN, _NAN])
        common = {"metric": "predictor_hessian_max", "axis": "model.depth", "r2": _NAN, "n_points": None}
        return [
            common
            | {"law": "power", "exponent": numbers.get("power_exponent"), "ci_low": _NAN, "ci_high": _NAN},
            common
            | {
                "law": "exponential",
                "exponent": numbers.get("exponential_rate"),
                "ci_low": low,
                "ci_high": high,
            },
        ]
    return []


def fits_table(verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The top-level ``fits`` table: each verdict's fits, prefixed with its id and subject."""
    return [
        {"verdict": verdict["id"], "subject": verdict["subject"]} | fit
        for verdict in verdicts
        for fit in verdict.get("fits", [])
    ]


def _migrate_1_to_2(document: dict[str, Any]) -> dict[str, Any]:
    for verdict in document.get("verdicts", []):
        verdict["fits"] = _schema1_verdict_fits(verdict)
    document["fits"] = fits_table(document.get("verdicts", []))
    return document


_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _migrate_1_to_2}


def migrate_report(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a report document in the current schema (migrated step by step from older ones).

    Raises InvalidArgumentError for a document without a known integer ``schema_version``.
    """
    version = document.get("schema_version") if isinstance(document, dict) else None
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= REPORT_SCHEMA_VERSION:
        raise InvalidArgumentError(
            "report schema_version", version, f"an integer from 1 to {REPORT_SCHEMA_VERSION} (this rscbench)"
        )
    migrated = copy.deepcopy(document)
    for step in range(version, REPORT_SCHEMA_VERSION):
        migrated = _MIGRATIONS[step](migrated)
        migrated["schema_version"] = step + 1
    return migrated


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report.json (or the report folder holding it) in the current schema.

    Older schemas are migrated (the file is left as it is); an unknown or newer schema, a missing
    file or invalid JSON raises InvalidArgumentError naming the report.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise InvalidArgumentError("report", str(path), "a report folder or its report.json")
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InvalidArgumentError("report", str(path), f"valid JSON ({error.msg})") from None
    return migrate_report(document)
