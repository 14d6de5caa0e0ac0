"""The command line: measure prints a record as JSON; run and list work; every bad input exits 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from rscbench.cli import main
from rscbench.run.execute import execute_task
from rscbench.run.specs import task_from_flat
from rscbench.store import ResultStore

TINY = [
    "measure",
    "--width",
    "16",
    "--depth",
    "2",
    "--n",
    "12",
    "--d",
    "4",
    "--probes",
    "3",
    "--secant-samples",
    "3",
]


def run(arguments: list[str], cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rscbench.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def test_measure_prints_every_quantity_as_json() -> None:
    result = run(TINY)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    metrics = record["metrics"]
    for key in (
        "loss_hessian_norm",
        "predictor_hessian_max",
        "block_norm_v_W2",
        "g_bar_sqnorm",
        "rsc_lower",
        "rsc_upper",
        "secant_min_inside",
        "theorem_alpha",
        "ntk_lambda_max",
    ):
        assert key in metrics
    assert metrics["rsc_lower"] <= metrics["rsc_upper"]
    assert record["spec"]["model"]["width"] == 16 and record["status"] == "ok"


def test_measure_every_task_field_is_a_flag(capsys: pytest.CaptureFixture) -> None:
    flags = [*TINY, "--activation", "gelu", "--sigma1", "0.7", "--kappa", "0.3", "--quantities", "Q1", "Q4"]
    flags += [
        "--gd-steps",
        "5",
        "--omega",
        "0.5",
        "--dataset-seed",
        "3",
        "--no-scale-input",
        "--rsc-every",
        "5",
    ]
    assert main(flags) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["spec"]["model"] == {
        "arch": "paper_mlp",
        "width": 16,
        "depth": 2,
        "activation": "gelu",
        "sigma1": 0.7,
        "scale_input": False,
    }
    assert record["spec"]["protocol"]["quantities"] == ["Q1", "Q4"] and len(record["trajectory"]) >= 1


def test_same_task_and_seed_give_identical_numbers(capsys: pytest.CaptureFixture) -> None:
    outputs = []
    for _ in range(2):
        assert main([*TINY, "--quantities", "Q1", "Q3", "Q6"]) == 0
        outputs.append(json.loads(capsys.readouterr().out)["metrics"])
    assert outputs[0] == outputs[1]


def test_run_smoke_and_list(tmp_path) -> None:
    result = run(["run", "smoke", "--out", str(tmp_path / "smoke")])
    assert result.returncode == 0, result.stderr
    assert "smoke: 5 tasks" in result.stdout and "statuses {'ok': 5}" in result.stdout
    assert "5/5 done, 0 failed" in result.stderr
    listing = run(["list", "suites"])
    assert listing.returncode == 0 and "cpu-default" in listing.stdout
    dry = run(["run", "cpu-default", "--dry-run"])
    assert dry.returncode == 0 and dry.stdout.startswith("cpu-default: 159 tasks")
    assert "memory<=" in dry.stdout and "estimated peak memory:" in dry.stdout


BAD_MEASURE = [
    (["--width", "0"], "model.width"),
    (["--depth", "0"], "model.depth"),
    (["--sigma1", "-1"], "model.sigma1"),
    (["--activation", "swish2"], "--activation"),
    (["--loss", "hinge"], "--loss"),
    (["--kappa", "1.5"], "protocol.kappa"),
    (["--kappa", "0"], "protocol.kappa"),
    (["--omega", "2"], "protocol.omega"),
    (["--rho2", "0"], "protocol.rho2"),
    (["--probes", "0"], "protocol.probes"),
    (["--n", "0"], "data.n"),
    (["--dataset", "imagenet"], "dataset"),
    (["--width", "abc"], "--width"),
    (["--dtype", "float16"], "--dtype"),
    (["--device", "tpu"], "--device"),
    (["--quantities", "Q5"], "--quantities"),
    (["--no-such-flag"], "--no-such-flag"),
]


@pytest.mark.parametrize(
    ("flags", "named"), BAD_MEASURE, ids=lambda value: " ".join(value) if isinstance(value, list) else value
)
def test_bad_measure_input_exits_2_with_one_line(flags: list[str], named: str) -> None:
    assert_bad(run([*TINY, *flags]), named)


def bad_run_cases(tmp_path) -> list[tuple[list[str], str]]:
    invalid = tmp_path / "invalid.toml"
    invalid.write_text("name = [unclosed\n")
    unknown_field = tmp_path / "unknown.toml"
    unknown_field.write_text('name = "u"\n[[experiment]]\nname = "e"\n[experiment.fixed]\nwidht = 8\n')
    npz = tmp_path / "bad.npz"
    np.savez(npz, X=np.ones((4, 3)), z=np.ones(4))
    npz_suite = tmp_path / "npz.toml"
    npz_suite.write_text(
        f'name = "n"\n[[experiment]]\nname = "e"\n[experiment.fixed]\ndataset = "npz:{npz}"\n'
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    return [
        (["run", "cpu-defualt"], "suite"),
        (["run", str(tmp_path / "missing.toml")], "suite"),
        (["run", str(invalid)], "valid TOML"),
        (["run", str(unknown_field)], "widht"),
        (["run", str(npz_suite)], "dataset"),
        (["run", "smoke", "--workers", "0", "--out", str(tmp_path / "w")], "workers"),
        (["run", "smoke", "--out", str(blocker / "sub")], "--out"),
        (["run", "smoke", "--device", "cuda", "--out", str(tmp_path / "c")], "cuda"),
        (["run", "smoke", "--executor", "dask", "--out", str(tmp_path / "d")], "scheduler"),
        (["run", "smoke", "--timeout", "0", "--out", str(tmp_path / "t")], "timeout"),
        (["run", "smoke", "--executor", "slurm"], "--executor"),
        (["run", "smoke", "--memory-budget", "12x"], "--memory-budget"),
        (["run", "smoke", "--memory-budget", "1KiB", "--out", str(tmp_path / "m")], "memory: 5 of 5 tasks"),
        (["list", "tasks"], "suite is required"),
        (["list", "widgets"], "what"),
    ]


def test_bad_run_input_exits_2_with_one_line(tmp_path) -> None:
    cases = bad_run_cases(tmp_path)
    for arguments, named in cases:
        if "cuda" in arguments and torch.cuda.is_available():
            continue
        assert_bad(run(arguments, cwd=tmp_path), named)
    assert len(cases) + len(BAD_MEASURE) >= 20


def assert_bad(result: subprocess.CompletedProcess, named: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert len(lines) == 1 and named in lines[0] and "error" in lines[0]


def test_replay_reruns_a_stored_task_and_exits_1_when_it_differs(tmp_path) -> None:
    record = execute_task(task_from_flat({"n": 16, "d": 4, "width": 16, "depth": 2, "probes": 3}).canonical())
    with ResultStore(tmp_path / "store.sqlite") as store:
        store.put(record)
    same = run(["replay", record["task_id"], "--store", str(tmp_path)])
    assert same.returncode == 0 and json.loads(same.stdout)["differences"] == {}
    tampered = record | {"metrics": record["metrics"] | {"loss": record["metrics"]["loss"] * 2}}
    with ResultStore(tmp_path / "other.sqlite") as store:
        store.put(tampered)
    differs = run(["replay", record["task_id"], "--store", str(tmp_path / "other.sqlite")])
    assert differs.returncode == 1
    assert json.loads(differs.stdout)["differences"]["loss"]["replayed"] == record["metrics"]["loss"]
    assert_bad(run(["replay", "0123", "--store", str(tmp_path)]), "task_id")
