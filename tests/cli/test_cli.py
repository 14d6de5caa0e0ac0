"""The command line: measure prints a record as JSON; run and list work; every bad input exits 2."""

import argparse
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from commands import rscbench as run
from rscbench.cli import main
from rscbench.cli.parser import build_parser
from rscbench.run.execute import execute_task
from rscbench.run.specs import task_from_flat
from rscbench.store import ResultStore

REPOSITORY = Path(__file__).resolve().parents[2]
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


def test_list_and_dry_run() -> None:
    listing = run(["list", "suites"])
    assert listing.returncode == 0 and "cpu-default" in listing.stdout
    dry = run(["run", "cpu-default", "--dry-run"], cwd=REPOSITORY)
    assert dry.returncode == 0 and dry.stdout.startswith("cpu-default: 159 tasks")
    assert "memory<=" in dry.stdout and "estimated peak memory:" in dry.stdout
    assert "cost model fitted to" in dry.stdout and " 0s" not in dry.stdout and "~0s" not in dry.stdout


def test_a_gpu_suite_is_planned_without_a_gpu_stating_the_assumption(tmp_path) -> None:
    dry = run(["run", "gpu-full", "--dry-run"], cwd=REPOSITORY)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("gpu-full: 108 tasks") and "estimated time: ~" in dry.stdout
    if not torch.cuda.is_available():
        assert "assumed (no CUDA record" in dry.stdout and "budget unknown" in dry.stdout
    bare = run(["run", "gpu-full", "--dry-run"], cwd=tmp_path)  # no reports/ to calibrate on
    assert bare.returncode == 0 and "estimated time: unknown for all 108 tasks" in bare.stdout
    assert "no cost model" in bare.stdout and " 0 s" not in bare.stdout


def test_every_flag_of_run_and_measure_says_what_it_means() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name in ("run", "measure", "report", "compare", "replay", "leaderboard", "publish"):
        for action in commands[name]._actions:
            if action.dest == "help":
                continue
            assert action.help and not action.help.startswith("default"), (name, action.dest)
    measure_help = {a.dest: a.help for a in commands["measure"]._actions}
    assert "neurons" in measure_help["width"] and "Q9 (gradient_descent)" in measure_help["quantities"]
    assert "seconds" in measure_help["timeout"] and "count" in measure_help["threads"]


def test_quantities_by_name_and_q9_with_gd_steps(capsys: pytest.CaptureFixture) -> None:
    assert main([*TINY, "--quantities", "predictor-hessian", "Q4", "--threads", "1"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["spec"]["protocol"]["quantities"] == ["Q1", "Q4"] and record["threads"] == 1
    assert set(record["quantity_seconds"]) == {"setup", "Q1", "Q4"}
    assert all(seconds >= 0 for seconds in record["quantity_seconds"].values())
    assert main([*TINY, "--quantities", "gradient_descent", "--gd-steps", "3", "--rsc-every", "3"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["spec"]["protocol"]["quantities"] == [] and "gd_steps_to_target" in record["metrics"]
    assert set(record["quantity_seconds"]) == {"setup", "Q9"}


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
    (["--quantities", "Q9"], "Q9 (gradient_descent) only with gd_steps > 0"),
    (["--threads", "0"], "--threads"),
    (["--timeout", "-1"], "--timeout"),
    (["--no-such-flag"], "--no-such-flag"),
]


@pytest.mark.parametrize(
    ("flags", "named"), BAD_MEASURE, ids=lambda value: " ".join(value) if isinstance(value, list) else value
)
def test_bad_measure_input_exits_2_with_one_line(
    flags: list[str], named: str, capsys: pytest.CaptureFixture
) -> None:
    assert_bad(in_process([*TINY, *flags], capsys), named)


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
        (["run", "smoke", "--threads", "two"], "--threads"),
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


def test_bad_run_input_exits_2_with_one_line(tmp_path, monkeypatch, capsys: pytest.CaptureFixture) -> None:
    cases = bad_run_cases(tmp_path)
    monkeypatch.chdir(tmp_path)
    for arguments, named in cases:
        if "cuda" in arguments and torch.cuda.is_available():
            continue
        assert_bad(in_process(arguments, capsys), named)
    assert len(cases) + len(BAD_MEASURE) >= 20


def test_bad_input_in_a_new_process_is_one_line_without_a_traceback(tmp_path) -> None:
    """The cases above run in this process for speed; the same contract holds across a process."""
    assert_bad(run([*TINY, "--width", "0"]), "model.width")
    assert_bad(run(["run", "smoke", "--workers", "0"], cwd=tmp_path), "--workers")
    assert_bad(run(["run", "cpu-defualt"], cwd=tmp_path), "suite")


def in_process(arguments: list[str], capsys: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    """``main(arguments)`` in this process, as a CompletedProcess (argparse's exit becomes the code)."""
    try:
        code = main(arguments)
    except SystemExit as stopped:
        code = stopped.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(arguments, code, captured.out, captured.err)


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


def test_replay_that_cannot_run_here_exits_2_naming_why(tmp_path) -> None:
    record = execute_task(task_from_flat({"n": 16, "d": 4, "width": 16, "depth": 2, "probes": 3}).canonical())
    record["spec"]["model"]["arch"] = "no_such_module_xyz:build"
    with ResultStore(tmp_path / "store.sqlite") as store:
        store.put(record)
    result = run(["replay", record["task_id"], "--store", str(tmp_path)])
    assert_bad(result, f"cannot replay task {record['task_id']} here")
    assert "no_such_module_xyz" in result.stderr and "ModuleNotFoundError" in result.stderr


def test_a_factory_that_is_not_reproducible_is_refused_before_anything_is_stored(tmp_path) -> None:
    (tmp_path / "unseeded.py").write_text(
        "import torch\n"
        "def build(width, depth, *, in_dim, generator):\n"
        "    return torch.nn.Sequential(torch.nn.Linear(in_dim, width), torch.nn.Linear(width, 1))\n"
    )
    suite = tmp_path / "mine.toml"
    suite.write_text(
        'name = "mine"\n[[experiment]]\nname = "e"\n[experiment.fixed]\narch = "unseeded:build"\n'
    )
    result = run(
        ["run", str(suite), "--out", str(tmp_path / "out")], env={**os.environ, "PYTHONPATH": str(tmp_path)}
    )
    assert_bad(result, "two builds from the same seed differ")
    assert not (tmp_path / "out" / "store.sqlite").exists()


def test_every_command_prints_its_help(capsys) -> None:
    """--help of every command renders (a literal % in a help text once raised a TypeError)."""
    parser = build_parser()
    (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    for name in commands.choices:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0, name
        assert "usage: rscbench" in capsys.readouterr().out
