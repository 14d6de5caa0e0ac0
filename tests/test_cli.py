"""The `rscbench measure` command: JSON on success, exit 2 and one line for every bad input."""

import json
import subprocess
import sys

import pytest

from rscbench.cli import main

TINY = ["measure", "--width", "16", "--depth", "2", "--n", "12", "--d", "4", "--probes", "3"]


def run(arguments: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rscbench.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_measure_prints_every_quantity_as_json() -> None:
    result = run(TINY)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    metrics = payload["metrics"]
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
    assert payload["task"]["width"] == 16


def test_same_task_and_seed_give_identical_numbers(capsys: pytest.CaptureFixture) -> None:
    outputs = []
    for _ in range(2):
        assert main(TINY) == 0
        outputs.append(json.loads(capsys.readouterr().out)["metrics"])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--width", "0"], "width"),
        (["--depth", "0"], "depth"),
        (["--sigma1", "-1"], "sigma1"),
        (["--activation", "swish2"], "--activation"),
        (["--loss", "hinge"], "--loss"),
        (["--kappa", "1.5"], "kappa"),
        (["--kappa", "0"], "kappa"),
        (["--rho2", "0"], "rho2"),
        (["--probes", "0"], "n_probes"),
        (["--n", "0"], "n"),
        (["--width", "abc"], "--width"),
        (["--dtype", "float16"], "--dtype"),
        (["--device", "tpu"], "--device"),
        (["--no-such-flag"], "--no-such-flag"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_bad_input_exits_2_with_one_line(flags: list[str], named: str) -> None:
    result = run([*TINY, *flags])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert named in lines[-1] and "error" in lines[-1]
    assert len([line for line in lines if "error" in line]) == 1
