"""Compare two reports: every metric and fit that changed beyond a threshold, verdicts that flipped and
tasks whose regime labels changed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rscbench.analysis.metrics import metric_info
from rscbench.report.schema import migrate_report
from rscbench.validation import require_number

__all__ = ["FLIP_KEYS", "LOST_REGIMES", "WORSE_REGIMES", "Comparison", "compare_reports"]

VERDICT_NUMBERS = (
    "per_layer_factor",
    "certified_fraction",
    "late_rate_median",
    "late_r2_median",
    "m_star",
    "measured_over_limit_largest_width",
    "median_rate",
    "median_r2",
)
"""Headline numbers of a verdict compared between reports (the last two are schema 2's V5 numbers)."""
FLIP_KEYS = ("id", "subject", "aspect", "setting")
LOST_REGIMES = ("certified-at-init", "certified-along-gd")
"""Regime labels whose loss is a regression (rscbench.analysis.regimes)."""
WORSE_REGIMES = ("divergent", "no-progress")
"""Regime labels whose gain is a regression."""
_PASSED = ("supported",)
_FAILED = ("not supported",)


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(value, math.nan)
    if isinstance(value, dict) and "$float" in value:
        return float(value["$float"])
    return float(value) if isinstance(value, (int, float)) else math.nan


def _metric_table(document: dict[str, Any]) -> dict[tuple[str, str], float]:
    table = {}
    for task in document.get("tasks", []):
        for name, value in task.get("metrics", {}).items():
            number = _number(value)
            if math.isfinite(number):
                table[(task["task_id"], name)] = number
    return table


def _fit_table(document: dict[str, Any]) -> dict[tuple[str, str], float]:
    """Exponents of the document's fits and the verdicts' headline numbers, keyed (where, name)."""
    table = {}
    for fit in document.get("fits", []):
        number = _number(fit.get("exponent"))
        if math.isfinite(number):
            where = f"{fit['verdict']} {fit['subject']}: {fit['metric']} vs {fit['axis']}"
            table[(where, f"{fit['law']} exponent")] = number
    for verdict in document.get("verdicts", []):
        for name in VERDICT_NUMBERS:
            number = _number(verdict.get("numbers", {}).get(name))
            if math.isfinite(number):
                table[(_where(verdict), name)] = number
    return table


def _identity(verdict: dict[str, Any]) -> tuple[str, str, str, str]:
    """A verdict row's identity across reports: id (with its form for a control), subject, aspect and the
    setting of its sweep."""
    source = verdict.get("source", {})
    keys = ("model.depth", "model.width", "loss", "protocol.gd_steps")
    setting = ", ".join(f"{k.split('.')[-1]}={source[k]}" for k in keys if k in source)
    form = verdict.get("form", verdict["id"])
    label = verdict["id"] if form == verdict["id"] else f"{verdict['id']} ({form})"
    return label, verdict["subject"], verdict.get("aspect", ""), setting


def _where(verdict: dict[str, Any]) -> str:
    label, subject, aspect, setting = _identity(verdict)
    return " ".join(part for part in (label, subject, aspect, f"[{setting}]" if setting else "") if part)


@dataclass(frozen=True)
class Comparison:
    """Changes from report A to B: ``changes`` (one row per changed metric or fit) and ``flips``."""

    changes: pd.DataFrame
    flips: pd.DataFrame
    regimes: pd.DataFrame

    @property
    def regressed(self) -> bool:
        """Whether anything got worse: a metric moved the wrong way, a covered claim lost its support
        (a control's holds / fails flipping is a change, not a regression: it is no evidence), or a
        task lost a certified label or gained divergent / no-progress."""
        worse = bool((self.changes["direction"] == "worse").any()) if not self.changes.empty else False
        lost = (
            bool((self.flips["from"].isin(_PASSED) | self.flips["to"].isin(_FAILED)).any())
            if not self.flips.empty
            else False
        )
        return worse or lost or bool(self.regimes["regressed"].any())


def _regime_table(document: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {task["task_id"]: tuple(task.get("regime_labels", ())) for task in document.get("tasks", [])}


def _regime_changes(a: dict[str, Any], b: dict[str, Any]) -> pd.DataFrame:
    """Shared tasks whose regime labels differ: from and to (labels joined by "+"), and whether the
    change is a regression (LOST_REGIMES lost or WORSE_REGIMES gained)."""
    labels_a, labels_b = _regime_table(a), _regime_table(b)
    rows = []
    for task_id in sorted(set(labels_a) & set(labels_b)):
        before, after = labels_a[task_id], labels_b[task_id]
        if before != after:
            lost = set(LOST_REGIMES) & (set(before) - set(after))
            gained = set(WORSE_REGIMES) & (set(after) - set(before))
            rows.append(
                {
                    "where": task_id,
                    "from": "+".join(before),
                    "to": "+".join(after),
                    "regressed": bool(lost or gained),
                }
            )
    return pd.DataFrame(rows, columns=["where", "from", "to", "regressed"])


def compare_reports(a: dict[str, Any], b: dict[str, Any], *, threshold: float = 0.05) -> Comparison:
    """Metrics (by task id) and fits (by verdict) whose relative change |b - a| / |a| exceeds ``threshold``.

    ``direction`` is "better" or "worse" from the metric registry's better direction ("changed"
    when a metric has none; fits are "changed" too, since a fit moving is neither good nor bad by
    itself), verdicts whose status differs are listed as flips (a verdict row is matched by id,
    form, subject, aspect and its sweep's setting) and shared tasks whose regime labels differ as
    ``regimes``. Documents of an older report schema are migrated
    first, so an old report compares with a new one; its statuses were judged under the old
    definitions.
    """
    require_number("threshold", threshold, at_least=0)
    a, b = migrate_report(a, "report A"), migrate_report(b, "report B")
    rows = []
    metrics_a, metrics_b = _metric_table(a), _metric_table(b)
    for key in sorted(set(metrics_a) & set(metrics_b)):
        before, after = metrics_a[key], metrics_b[key]
        change = abs(after - before) / abs(before) if before != 0 else (math.inf if after != 0 else 0.0)
        if change > threshold:
            better = metric_info(key[1]).better
            improved = after < before if better == "lower" else after > before
            direction = "changed" if better == "none" else ("better" if improved else "worse")
            rows.append(
                {
                    "kind": "metric",
                    "where": key[0],
                    "name": key[1],
                    "a": before,
                    "b": after,
                    "relative_change": change,
                    "direction": direction,
                }
            )
    fits_a, fits_b = _fit_table(a), _fit_table(b)
    for key in sorted(set(fits_a) & set(fits_b)):
        before, after = fits_a[key], fits_b[key]
        change = abs(after - before) / abs(before) if before != 0 else (math.inf if after != 0 else 0.0)
        if change > threshold:
            rows.append(
                {
                    "kind": "fit",
                    "where": key[0],
                    "name": key[1],
                    "a": before,
                    "b": after,
                    "relative_change": change,
                    "direction": "changed",
                }
            )
    status_a = {_identity(v): v["status"] for v in a.get("verdicts", [])}
    status_b = {_identity(v): v["status"] for v in b.get("verdicts", [])}
    flips = [
        dict(zip(FLIP_KEYS, key, strict=True)) | {"from": status_a[key], "to": status_b[key]}
        for key in sorted(set(status_a) & set(status_b))
        if status_a[key] != status_b[key]
    ]
    columns = ["kind", "where", "name", "a", "b", "relative_change", "direction"]
    return Comparison(
        pd.DataFrame(rows, columns=columns),
        pd.DataFrame(flips, columns=[*FLIP_KEYS, "from", "to"]),
        _regime_changes(a, b),
    )
