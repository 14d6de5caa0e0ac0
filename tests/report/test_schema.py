"""Report schema migration: a schema-1 report reads as the current schema; unknown schemas are refused."""

import json
from pathlib import Path

import pytest

from rscbench.errors import InvalidArgumentError
from rscbench.report.compare import compare_reports
from rscbench.report.schema import REPORT_SCHEMA_VERSION, load_report, migrate_report

PUBLISHED = Path(__file__).parents[2] / "reports" / "cpu-default" / "20261124T052020Z-9195af1d"


def test_the_first_published_report_is_schema_1_and_migrates_with_its_fits() -> None:
    raw = json.loads((PUBLISHED / "report.json").read_text())
    assert raw["schema_version"] == 1 and "fits" not in raw
    document = load_report(PUBLISHED)
    assert document["schema_version"] == REPORT_SCHEMA_VERSION == 4
    by_verdict = {(fit["verdict"], fit["subject"], fit["law"]): fit for fit in document["fits"]}
    tanh = by_verdict[("V1", "tanh sigma1=1", "power")]
    v1 = next(v for v in raw["verdicts"] if (v["id"], v["subject"]) == ("V1", "tanh"))
    assert tanh["metric"] == "predictor_hessian_max" and tanh["axis"] == "model.width"
    assert (tanh["exponent"], tanh["ci_low"], tanh["ci_high"]) == (
        v1["numbers"]["exponent"],
        v1["numbers"]["ci_low"],
        v1["numbers"]["ci_high"],
    )
    assert by_verdict[("V3", "tanh sigma1=1", "power")]["metric"] == "g_bar_sqnorm"
    depth = by_verdict[("V2", "tanh sigma1=0.5", "exponential")]
    assert depth["axis"] == "model.depth" and depth["exponent"] < 0
    # every verdict of schema 1 with a fit kept it; the migration never touches the file
    assert len(document["fits"]) == sum(len(v["fits"]) for v in document["verdicts"]) >= 14
    assert json.loads((PUBLISHED / "report.json").read_text()) == raw


def test_migration_is_the_identity_on_the_current_schema_and_does_not_mutate() -> None:
    suite = {"name": "tiny"}
    current = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "suite": suite,
        "verdicts": [],
        "fits": [],
        "findings": [],
        "tasks": [],
    }
    assert migrate_report(current) == current
    old = {"schema_version": 1, "suite": suite, "verdicts": [], "tasks": []}
    migrate_report(old)
    assert old == {"schema_version": 1, "suite": suite, "verdicts": [], "tasks": []}


@pytest.mark.parametrize("version", [0, REPORT_SCHEMA_VERSION + 1, "2", None, True])
def test_unknown_schemas_are_refused_naming_the_field(tmp_path: Path, version) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"schema_version": version}))
    with pytest.raises(InvalidArgumentError, match=r"report\.json: schema_version"):
        load_report(tmp_path)


def test_a_schema_1_report_compares_with_itself_migrated() -> None:
    raw = json.loads((PUBLISHED / "report.json").read_text())
    result = compare_reports(raw, load_report(PUBLISHED), threshold=0.0)
    assert result.changes.empty and result.flips.empty and not result.regressed


SCHEMA_2 = Path(__file__).parents[2] / "reports" / "cpu-default" / "20261124T071526Z-7f51d3e9"


def test_a_schema_2_report_reads_with_forms_controls_and_findings() -> None:
    """Schema 2's V6 rows become controls with holds / fails, every row gets its form and aspect, a
    ReLU V7 row becomes a control, and the V3 rows "vs depth" move to the regime findings."""
    raw = json.loads((SCHEMA_2 / "report.json").read_text())
    assert raw["schema_version"] == 2
    document = load_report(SCHEMA_2)
    rows = {(v["id"], v["form"], v["subject"], v["aspect"]): v for v in document["verdicts"]}
    assert rows[("V6", "V2", "tanh sigma1=2", "depth growth")]["status"] == "fails"
    assert rows[("V6", "V7", "relu sigma1=1", "progress where certified")]["covered"] is False
    assert (
        rows[("V5", "V5", "tanh sigma1=1", "geometric tail")]["status"] == "not supported"
    )  # as judged then
    assert all(v["aspect"] for v in document["verdicts"])
    assert [f["subject"] for f in document["findings"]] == ["tanh sigma1=0.5", "tanh sigma1=2"]
    assert document["references"] == [] and document["unconverged"] == []
    assert not compare_reports(raw, document, threshold=0.0).regressed


SCHEMA_3 = Path(__file__).parents[2] / "reports" / "cpu-default" / "20261202T025843Z-46be5de6"


def test_a_schema_3_report_reads_with_regime_labels_computed_from_its_records() -> None:
    raw = json.loads((SCHEMA_3 / "report.json").read_text())
    assert raw["schema_version"] == 3 and "regime" not in raw["tasks"][0]
    tasks = load_report(SCHEMA_3)["tasks"]
    assert len(tasks) == len(raw["tasks"]) and all(task["regime_labels"] for task in tasks)
    assert all(task["regime"] == task["regime_labels"][0] for task in tasks)
    for task in tasks:
        metrics = task["metrics"]
        if task["experiment"] == "gd-convergence":  # the published runs: certified, sharp, not lazy
            assert ("certified-along-gd" in task["regime_labels"]) == (
                metrics["gd_rsc_certified_fraction"] >= 0.95
            )
            assert ("edge-of-stability" in task["regime_labels"]) == (metrics["gd_sharpness_max"] >= 1.9)
            assert "lazy" not in task["regime_labels"] and metrics["gd_ntk_drift"] > 0.1
        elif "rsc_holds" not in metrics:
            assert task["regime_labels"] == ["unmeasured"]
    assert json.loads((SCHEMA_3 / "report.json").read_text()) == raw
    schema_1 = load_report(PUBLISHED)["tasks"]  # every older schema reaches the labels too
    assert {task["regime"] for task in schema_1} >= {"certified-along-gd", "unmeasured"}


def test_the_migration_reads_non_finite_metrics_as_the_record_held_them() -> None:
    """report.json writes a non-finite float as the store's tag or as text; both read back as floats,
    so an infinite sharpness is the edge of stability and a NaN drift is not lazy."""
    metrics = {"gd_sharpness_max": {"$float": "inf"}, "gd_ntk_drift": "nan", "gd_final_loss_ratio": 1e-3}
    document = {
        "schema_version": 3,
        "suite": {"name": "tiny"},
        "verdicts": [],
        "fits": [],
        "findings": [],
        "tasks": [
            {"task_id": "t1", "status": "ok", "metrics": metrics},
            {"task_id": "t2", "status": "diverged", "metrics": {}},
            {"task_id": "t3", "metrics": {"rsc_holds": True}},  # no status: nothing is claimed
        ],
    }
    tasks = migrate_report(document)["tasks"]
    assert [task["regime_labels"] for task in tasks] == [["edge-of-stability"], ["divergent"], ["unmeasured"]]


def test_a_current_report_without_its_regime_labels_is_refused_not_guessed() -> None:
    task = {"task_id": "t1", "status": "ok", "metrics": {}, "regime": "unmeasured"}
    document = {"schema_version": REPORT_SCHEMA_VERSION, "suite": {"name": "tiny"}, "verdicts": []}
    document |= {"fits": [], "tasks": [task]}
    with pytest.raises(InvalidArgumentError, match=r"report: tasks\[0\]: regime_labels"):
        migrate_report(document)
    assert migrate_report(document | {"tasks": [task | {"regime_labels": ["unmeasured"]}]})
