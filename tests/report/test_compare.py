"""compare: metric and fit changes beyond a threshold with their direction, verdict flips, exit codes."""

import copy
import json
import subprocess
import sys

import pytest

from rscbench.errors import InvalidArgumentError
from rscbench.report import compare_reports, load_report

FIT = {"metric": "predictor_hessian_max", "axis": "model.width", "law": "power", "exponent": -0.5}
BASE = {
    "schema_version": 3,
    "suite": {"name": "tiny"},
    "tasks": [
        {
            "task_id": "t1",
            "status": "ok",
            "metrics": {"predictor_hessian_max": 0.1, "g_bar_sqnorm": 0.5, "loss": 1.0},
        }
    ],
    "verdicts": [
        {
            "id": "V1",
            "form": "V1",
            "aspect": "at init",
            "subject": "tanh sigma1=1",
            "claim": "c",
            "status": "supported",
            "numbers": {},
            "fits": [FIT],
        },
    ],
    "fits": [{"verdict": "V1", "subject": "tanh sigma1=1"} | FIT],
}


def changed(path: list, value) -> dict:
    document = copy.deepcopy(BASE)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def test_identical_reports_have_no_change() -> None:
    result = compare_reports(BASE, BASE)
    assert result.changes.empty and result.flips.empty and not result.regressed


def test_a_metric_that_got_worse_is_a_regression_and_below_threshold_is_ignored() -> None:
    worse = changed(["tasks", 0, "metrics", "predictor_hessian_max"], 0.12)
    result = compare_reports(BASE, worse, threshold=0.05)
    assert list(result.changes["direction"]) == ["worse"] and result.regressed
    assert compare_reports(BASE, worse, threshold=0.5).changes.empty


def test_a_metric_that_got_better_is_not_a_regression() -> None:
    better = changed(["tasks", 0, "metrics", "g_bar_sqnorm"], 0.9)
    result = compare_reports(BASE, better)
    assert list(result.changes["direction"]) == ["better"] and not result.regressed


def test_fits_are_reported_and_flipped_verdicts_regress() -> None:
    moved = changed(["fits", 0, "exponent"], -0.3)
    moved["verdicts"][0]["status"] = "not supported"
    result = compare_reports(BASE, moved)
    assert list(result.changes["kind"]) == ["fit"] and result.changes["name"].iloc[0] == "power exponent"
    assert result.changes["where"].iloc[0] == "V1 tanh sigma1=1: predictor_hessian_max vs model.width"
    flip = {"id": "V1", "subject": "tanh sigma1=1", "aspect": "at init", "setting": ""}
    assert result.flips.to_dict("records") == [flip | {"from": "supported", "to": "not supported"}]
    assert result.regressed


def test_a_control_flipping_is_a_change_not_a_regression() -> None:
    control = {"id": "V6", "form": "V1", "subject": "relu sigma1=1", "aspect": "at init", "claim": "c"}
    a = changed(["verdicts"], [control | {"status": "holds", "covered": False}])
    b = changed(["verdicts"], [control | {"status": "fails", "covered": False}])
    result = compare_reports(a, b)
    assert list(result.flips["id"]) == ["V6 (V1)"] and not result.regressed


def test_a_task_leaving_a_certified_regime_or_entering_divergence_regresses() -> None:
    certified = changed(["tasks", 0, "metrics", "rsc_holds"], True)
    uncertified = changed(["tasks", 0, "metrics", "rsc_holds"], False)
    assert compare_reports(certified, certified).regimes.empty
    lost = compare_reports(certified, uncertified)
    assert lost.regimes.to_dict("records") == [
        {"where": "t1", "from": "certified-at-init", "to": "uncertified", "regressed": True}
    ]
    assert lost.changes.empty and lost.flips.empty and lost.regressed
    gained = compare_reports(uncertified, certified)
    assert list(gained.regimes["regressed"]) == [False] and not gained.regressed
    diverged = changed(["tasks", 0, "status"], "diverged")
    assert compare_reports(BASE, diverged).regimes["to"].tolist() == ["divergent"]
    assert compare_reports(BASE, diverged).regressed and not compare_reports(diverged, BASE).regressed


def test_unknown_schema_and_bad_threshold_are_refused(tmp_path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(changed(["schema_version"], 99)))
    with pytest.raises(InvalidArgumentError) as error:
        load_report(tmp_path)
    assert error.value.argument == f"{path}: schema_version"
    with pytest.raises(InvalidArgumentError):
        compare_reports(BASE, BASE, threshold=-1)


def test_cli_exit_codes(tmp_path) -> None:
    a, b, bad = tmp_path / "a", tmp_path / "b", tmp_path / "bad"
    for folder, document in ((a, BASE), (b, changed(["tasks", 0, "metrics", "loss"], 2.0)), (bad, {"x": 1})):
        folder.mkdir()
        (folder / "report.json").write_text(json.dumps(document))

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rscbench.cli", "compare", *arguments],
            capture_output=True,
            text=True,
            check=False,
        )

    assert run(str(a), str(a)).returncode == 0
    certified = changed(["tasks", 0, "metrics", "rsc_holds"], False)
    (b / "report.json").write_text(json.dumps(certified))
    (a / "report.json").write_text(json.dumps(changed(["tasks", 0, "metrics", "rsc_holds"], True)))
    lost = run(str(a), str(b))
    assert lost.returncode == 1 and "tasks whose regime changed" in lost.stdout
    assert "certified-at-init" in lost.stdout and "uncertified" in lost.stdout
    (a / "report.json").write_text(json.dumps(BASE))
    (b / "report.json").write_text(json.dumps(changed(["tasks", 0, "metrics", "loss"], 2.0)))
    regressed = run(str(a), str(b))
    assert regressed.returncode == 1 and "worse" in regressed.stdout
    refused = run(str(a), str(bad))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "schema_version" in refused.stderr
