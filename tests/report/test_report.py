"""Reports: every file of docs/cli.md written from the store, the tidy CSV, the index, --strict."""

import io
import json
import subprocess
import sys

import pandas as pd

from rscbench.report import REPORT_SCHEMA_VERSION, write_report
from rscbench.run.runner import run_tasks
from rscbench.run.suites import load_suite
from rscbench.store import ResultStore

SUITE = """
name = "tiny"
[defaults]
n = 16
d = 4
probes = 3
secant_samples = 3
seed = [0, 1]
[[experiment]]
name = "width"
[experiment.grid]
width = [16, 32, 64]
[experiment.fixed]
quantities = ["Q1", "Q4"]
"""


def test_report_files_from_a_run(tmp_path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    suite = load_suite(str(path))
    run_dir = tmp_path / "reports" / "tiny"
    with ResultStore(run_dir / "store.sqlite") as store:
        run_tasks(suite.tasks(), store, progress_stream=io.StringIO())
        report = write_report(run_dir, suite, store)
    folder = report.folder
    assert folder.parent == run_dir and len(folder.name.split("-")[-1]) == 8
    for name in ("report.json", "results.csv", "verdicts.csv", "report.md"):
        assert (folder / name).is_file()
    document = json.loads((folder / "report.json").read_text())
    assert document["schema_version"] == REPORT_SCHEMA_VERSION and document["suite"]["name"] == "tiny"
    assert len(document["tasks"]) == 6 and document["dataset_hashes"]["sphere"]
    assert {"commit", "dirty"} <= set(document["git"]) and document["environment"]["torch"]
    results = pd.read_csv(folder / "results.csv")
    assert {"task_id", "experiment", "metric", "value", "unit", "better"} <= set(results.columns)
    hessian = results[results["metric"] == "predictor_hessian_max"]
    assert len(hessian) == 6 and set(hessian["better"]) == {"lower"}
    verdicts = pd.read_csv(folder / "verdicts.csv")
    assert set(verdicts["id"]) >= {"V1", "V3"} and [v.id for v in report.verdicts] == list(verdicts["id"])
    assert "# rscbench report: tiny" in (folder / "report.md").read_text()
    index = json.loads((tmp_path / "reports" / "index.json").read_text())
    assert index["reports"][0]["path"] == f"tiny/{folder.name}"


def test_run_writes_a_report_and_strict_exits_1_when_a_verdict_fails(tmp_path) -> None:
    path = tmp_path / "tiny.toml"
    # At sigma1 = 0.2 and widths 16-64 the max-probe Hessian norm falls faster than the band allows
    # (fitted exponent -0.72, CI [-0.73, -0.71] with 3 seeds), so V1 is not supported and --strict must
    # say so; with 2 seeds every fit would be inconclusive (the minimum-evidence rule).
    path.write_text(SUITE.replace("seed = [0, 1]", "seed = [0, 1, 2]\nsigma1 = 0.2"))
    command = [sys.executable, "-m", "rscbench.cli", "run", str(path), "--out", str(tmp_path / "out")]
    plain = subprocess.run(command, capture_output=True, text=True, check=False)
    assert plain.returncode == 0, plain.stderr
    assert "\nopen: " in plain.stdout and "verdicts (docs/verdicts.md" in plain.stdout
    strict = subprocess.run([*command, "--strict"], capture_output=True, text=True, check=False)
    assert (
        strict.returncode == 1 and "--strict: verdicts not supported: V1 (tanh sigma1=0.2)" in strict.stderr
    )


def test_report_command_rerenders_every_format_and_refuses_unknown_schemas(tmp_path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    out = tmp_path / "out"

    def cli(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rscbench.cli", *arguments], capture_output=True, text=True
        )

    assert cli("run", str(path), "--out", str(out)).returncode == 0
    latex = cli("report", str(out), "--format", "latex")
    assert (
        latex.returncode == 0 and latex.stdout.startswith("\\begin{tabular}") and "V1 & tanh" in latex.stdout
    )
    assert cli("report", str(out), "--format", "md").stdout.startswith("# rscbench report: tiny")
    assert (
        json.loads(cli("report", str(out), "--format", "json").stdout)["schema_version"]
        == REPORT_SCHEMA_VERSION
    )
    assert cli("report", str(out), "--format", "csv").stdout.startswith("task_id,experiment")
    page = cli("report", str(out), "--format", "html").stdout
    assert page.count("data:image/png;base64,") >= 2 and "http" not in page.split("<body>")[1]

    newest = sorted(out.glob("*/report.json"))[-1]
    document = json.loads(newest.read_text())
    newest.write_text(json.dumps(document | {"schema_version": 99}))
    refused = cli("report", str(out))
    assert (
        refused.returncode == 2 and "schema_version" in refused.stderr and "Traceback" not in refused.stderr
    )
