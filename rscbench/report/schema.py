"""The report.json schema: its version, reading a report, and migrating older schemas to the current one.

History (each step has a migration below, so every older report reads as the current schema):

* 1 — the first published layout: provenance, suite, verdicts (id, claim, subject, status,
  numbers, source), tasks, plots.
* 2 — every verdict lists the scaling laws it rests on (``fits``: metric, axis, law, exponent, CI,
  R^2, counts) and the document gathers them in a top-level ``fits`` table (one row per fit, with
  its verdict id and subject), so readers and ``rscbench compare`` need not know which verdict
  holds which numbers.
* 3 — verdicts as docs/verdicts.md now defines them: each row carries ``covered``, ``form`` (the
  verdict whose form it applies; V6 rows are controls), ``aspect``, ``expectation`` (controls) and
  ``reason`` (inconclusive / not measured); subjects name the family (activation and sigma1, or a
  user's arch); control statuses are holds / fails; the document adds ``findings`` (the regime
  findings, where schema 2's V3 "vs depth" rows now live), ``references`` (measured against the
  infinite-width limit per width and depth) and ``unconverged`` (every estimate that missed its
  tolerance). A migrated schema-2 report keeps its old statuses, judged under the old definitions;
  its lists of references and unconverged estimates are empty (not computed then).
* 4 — every task carries its regime labels (docs/verdicts.md, "Regime labels"): ``regime`` (the
  primary label) and ``regime_labels`` (all of them, in precedence order). A migrated report's
  labels are computed from its tasks' status and metrics, as the writer computes them.

A document of a newer or unknown schema is refused, never guessed at.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rscbench.analysis.regimes import task_regime
from rscbench.errors import InvalidArgumentError
from rscbench.models.activations import ACTIVATIONS
from rscbench.validation import Field, check_document, read_json

__all__ = [
    "CURRENT_FIELDS",
    "REPORT_FIELDS",
    "REPORT_SCHEMA_VERSION",
    "fits_table",
    "load_report",
    "migrate_report",
]

REPORT_SCHEMA_VERSION = 4

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
    """The top-level ``fits`` table: each verdict's fits, prefixed with its id, subject and (from schema
    3) form and aspect."""
    return [
        {"verdict": verdict["id"], "subject": verdict["subject"]}
        | {key: verdict[key] for key in ("form", "aspect") if key in verdict}
        | fit
        for verdict in verdicts
        for fit in verdict.get("fits", [])
    ]


def _migrate_1_to_2(document: dict[str, Any]) -> dict[str, Any]:
    for verdict in document.get("verdicts", []):
        verdict["fits"] = _schema1_verdict_fits(verdict)
    document["fits"] = fits_table(document.get("verdicts", []))
    return document


# Schema-2 claims (schema 1's are a subset), word for word, and the (form, aspect) each judged.
_SCHEMA2_FORMS = {
    "max-probe ||Hessian of f|| ~ m^b with the 95% CI of b inside [-0.6, -0.4]": ("V1", "at init"),
    "max over GD checkpoints of max-probe ||Hessian of f|| ~ m^b with the 95% CI of b <= -0.4": (
        "V1",
        "along GD",
    ),
    _SCHEMA1_DEPTH_CLAIMS[0]: ("V2", "depth growth"),
    _SCHEMA1_DEPTH_CLAIMS[1]: ("V2", "depth growth"),
    "||g_bar||^2 ~ m^b with the CI's lower end > -1/2 (the RSC condition holds at large m)": (
        "V3",
        "width exponent",
    ),
    "a finite width m* exists from which the Q6 certificate holds at init (fitted laws, 95% CI)": (
        "V3",
        "m*",
    ),
    "RSC certified at >= 95% of GD checkpoints after t = 0 at the largest width": (
        "V4",
        "certified fraction",
    ),
    "GD reaches the target, log-loss R^2 >= 0.9, rate no slower than 1 - omega(2-omega) alpha/beta": (
        "V5",
        "geometric tail",
    ),
    "the certificate predicts progress: RSC certified (V4) and convergence (V5) agree": (
        "V7",
        "progress where certified",
    ),
}
_SCHEMA2_DEPTH_FACTOR = (
    "||g_bar||^2 does not vanish exponentially in depth (per-layer factor of the preferred law)"
)
_FINDING_NAME = "per-layer factor of ||g_bar(theta_0)||^2 in depth (why m* grows with depth)"
_AS_CONTROL = {"supported": "holds", "not supported": "fails"}


def _family(verdict: dict[str, Any]) -> str:
    """A schema-2 verdict's subject as a family, rebuilt from its source ("tanh" -> "tanh sigma1=1")."""
    source = verdict.get("source", {})
    if "model.activation" in source and "model.sigma1" in source:
        return f"{source['model.activation']} sigma1={float(source['model.sigma1']):g}"
    return verdict.get("subject", "")


def _migrate_2_to_3(document: dict[str, Any]) -> dict[str, Any]:
    verdicts, findings = [], []
    for verdict in document.get("verdicts", []):
        subject = _family(verdict)
        if verdict.get("claim") == _SCHEMA2_DEPTH_FACTOR:
            keep = {key: verdict.get(key, {}) for key in ("numbers", "source")}
            findings.append(
                {"name": _FINDING_NAME, "subject": subject, "fits": verdict.get("fits", [])} | keep
            )
            continue
        form, aspect = _SCHEMA2_FORMS.get(verdict.get("claim"), (verdict["id"], ""))
        activation = ACTIVATIONS.get(str(verdict.get("source", {}).get("model.activation")))
        covered = verdict["id"] != "V6" and (activation is None or activation.covered_by_theory)
        status = verdict["status"] if covered else _AS_CONTROL.get(verdict["status"], verdict["status"])
        reason = verdict.get("numbers", {}).get("reason", "") if status == "inconclusive" else ""
        verdicts.append(
            verdict
            | {"id": verdict["id"] if covered else "V6", "subject": subject, "status": status}
            | {"covered": covered, "form": form, "aspect": aspect}
            | {"expectation": "", "reason": reason or ""}
        )
    document["verdicts"] = verdicts
    document["findings"] = findings
    document["fits"] = fits_table(verdicts)
    document["references"] = []
    document["unconverged"] = []
    return document


_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _metric_value(value: Any) -> Any:
    """A report.json metric as the record held it: a non-finite float written as text ("nan") or as
    the store's tag ({"$float": "inf"}) read back as a float."""
    if isinstance(value, dict) and set(value) == {"$float"}:
        value = value["$float"]
    return _NON_FINITE.get(value, value) if isinstance(value, str) else value


def _migrate_3_to_4(document: dict[str, Any]) -> dict[str, Any]:
    for task in document.get("tasks", []):
        metrics = {name: _metric_value(value) for name, value in task["metrics"].items()}
        regime = task_regime(str(task.get("status")), metrics)
        task["regime"], task["regime_labels"] = regime.primary, list(regime.labels)
    return document


_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
}


_TEXT, _OBJECT = Field((str,)), Field((dict,))
_VERDICT = {
    "id": _TEXT,
    "claim": _TEXT,
    "subject": _TEXT,
    "status": _TEXT,
    "numbers": Field((dict,), required=False),
    "source": Field((dict,), required=False),
    "fits": Field((list,), required=False),
}
_TASK = {
    "task_id": _TEXT,
    "spec": Field((dict,), required=False),
    "metrics": _OBJECT,
    "experiment": Field((str, type(None)), required=False),
}
REPORT_FIELDS = {
    "schema_version": Field((int,)),
    "created_at": Field((str, type(None)), required=False),
    "suite": Field(
        (dict,),
        fields={
            "name": _TEXT,
            "description": Field((str,), required=False),
            "source": Field((str,), required=False),
        },
    ),
    "git": Field(
        (dict,),
        required=False,
        fields={
            "commit": Field((str, type(None)), required=False),
            "dirty": Field((bool, type(None)), required=False),
        },
    ),
    "environment": Field((dict,), required=False),
    "statuses": Field((dict,), required=False),
    "verdicts": Field((list,), items=_VERDICT),
    "tasks": Field((list,), items=_TASK),
    "plots": Field((list,), required=False),
}
"""What every schema's report.json holds and the readers (compare, report, publish, the index) use."""
_NUMBER = Field((int, float, str, type(None)), required=False)  # "nan"/"inf" are written as text
CURRENT_FIELDS = {
    "verdicts": Field(
        (list,),
        items=_VERDICT
        | {
            "form": _TEXT,
            "aspect": _TEXT,
            "covered": Field((bool,), required=False),
            "expectation": Field((str,), required=False),
            "reason": Field((str,), required=False),
        },
    ),
    "fits": Field(
        (list,),
        items={
            "verdict": _TEXT,
            "subject": _TEXT,
            "metric": _TEXT,
            "axis": _TEXT,
            "law": _TEXT,
            "exponent": _NUMBER,
        },
    ),
    "findings": Field((list,), required=False),
    "tasks": Field((list,), items=_TASK | {"regime": _TEXT, "regime_labels": Field((list,))}),
}
"""What a report of the current schema (or migrated to it) holds beside REPORT_FIELDS."""


def migrate_report(document: dict[str, Any], source: str = "report") -> dict[str, Any]:
    """A copy of a report document in the current schema (migrated step by step from older ones).

    Raises InvalidArgumentError for a document without a known integer ``schema_version``, and for
    one whose fields (REPORT_FIELDS, and CURRENT_FIELDS once migrated) do not hold what readers
    use, naming ``source`` (the file), the field and what is allowed.
    """
    version = document.get("schema_version") if isinstance(document, dict) else None
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= REPORT_SCHEMA_VERSION:
        raise InvalidArgumentError(
            f"{source}: schema_version",
            version,
            f"an integer from 1 to {REPORT_SCHEMA_VERSION} (this rscbench)",
        )
    check_document(document, source, REPORT_FIELDS)
    migrated = copy.deepcopy(document)
    for step in range(version, REPORT_SCHEMA_VERSION):
        migrated = _MIGRATIONS[step](migrated)
        migrated["schema_version"] = step + 1
    check_document(migrated, source, CURRENT_FIELDS)
    return migrated


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report.json (or the report folder holding it) in the current schema.

    Older schemas are migrated (the file is left as it is); an unknown or newer schema, a missing
    or unreadable file, text that is not UTF-8 JSON, and a field readers use that is missing or of
    the wrong kind raise InvalidArgumentError naming the report and the field.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise InvalidArgumentError("report", str(path), "a report folder or its report.json")
    return migrate_report(read_json(path, "report"), str(path))
