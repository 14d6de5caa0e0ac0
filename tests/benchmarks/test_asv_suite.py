"""The asv configuration and suite: asv accepts them, the kernels run, the CUDA variants skip with
their reason, and the science benchmarks turn library results into lower-is-better numbers."""

import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from asv.util import load_json
from asv_harness import REPO, load_suite_module

from rscbench.analysis.fits import ScalingFit
from rscbench.run.task import TaskOutcome

kernels = load_suite_module("kernels")
kernels_cuda = load_suite_module("kernels_cuda")
science = load_suite_module("science")

CONFIG = load_json(str(REPO / "asv.conf.json"), js_comments=True)


def _requirement_name(requirement: str) -> str:
    for separator in "=<>!~[; ":
        requirement = requirement.split(separator, 1)[0]
    return requirement.lower().replace("_", "-")


def test_config_pins_torch_and_lists_every_runtime_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = {_requirement_name(r) for r in project["dependencies"]}
    matrix = CONFIG["matrix"]["req"]
    assert required <= set(matrix), f"missing from matrix.req: {sorted(required - set(matrix))}"
    assert matrix["torch"] == ["2.13.0"] and "torch==2.13.0" in project["dependencies"]
    assert all(version and all(v.strip() for v in version) for version in matrix.values()), matrix


def test_config_builds_without_copying_or_reinstalling_dependencies():
    (build,) = CONFIG["build_command"]
    (install,) = CONFIG["install_command"]
    assert "--no-deps" in build and "--no-deps" in install
    assert CONFIG["launch_method"] == "spawn"
    assert CONFIG["matrix"]["env_nobuild"]["OMP_NUM_THREADS"] == ["1"]
    assert CONFIG["benchmark_dir"] == "benchmarks/asv"


def test_everything_asv_writes_is_git_ignored():
    paths = [CONFIG[key] for key in ("env_dir", "results_dir", "html_dir")] + [".asv/npm", ".benchmarks"]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert sorted(ignored.stdout.split()) == sorted(paths)


def test_asv_accepts_the_suite(tmp_path):
    """asv's own check: every benchmark imports, has a valid name, parameters and signature."""
    env = dict(os.environ, HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "asv", "check", "--python=same"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0 and "No problems found" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(kernels.KERNELS))
def test_every_kernel_runs_on_a_small_problem(name):
    problem = kernels.build_problem(8, "cpu")
    result = kernels.KERNELS[name](problem)()
    assert result is not None


def _benchmarked_kernels(module) -> list[str]:
    classes = [value for name, value in vars(module).items() if isinstance(value, type) and name[0] != "_"]
    return sorted(cls.kernel for cls in classes if hasattr(cls, "time_kernel"))


def test_kernel_benchmark_classes_cover_every_kernel():
    expected = sorted(kernels.KERNELS)
    assert _benchmarked_kernels(kernels) == _benchmarked_kernels(kernels_cuda) == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip on a machine without CUDA")
def test_cuda_variants_skip_with_the_reason():
    with pytest.raises(NotImplementedError, match="needs a CUDA device"):
        kernels_cuda.HvpCuda().setup(64)


def test_cuda_module_imports_no_torch():
    """asv spawns a process per CUDA benchmark and width; on a CPU machine each must skip cheaply."""
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); from asv_harness import load_suite_module; "
        "load_suite_module('kernels_cuda'); print('torch' in sys.modules)"
    )
    here = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", probe, here], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.gpu
@pytest.mark.parametrize("cls", ["HvpCuda", "LanczosCuda", "ProbeNormsCuda", "NtkGramCuda", "GdStepCuda"])
def test_cuda_variants_run_and_track_device_memory(cls):
    benchmark = getattr(kernels_cuda, cls)()
    benchmark.setup(64)
    benchmark.time_kernel(64)
    assert benchmark.track_device_peak_bytes(64) > 0


def test_width_scaling_is_lower_is_better_for_both_directions():
    fits = {
        "predictor_hessian_max": ScalingFit.known(1.0, -0.5),
        "g_bar_sqnorm": ScalingFit.known(1.0, -0.25),
    }
    family = science.WidthScaling()
    # lower is better for the Hessian norm: 2^b; higher is better for ||g_bar||^2: 2^-b.
    assert family.track_growth_per_width_doubling(fits, "predictor_hessian_max") == pytest.approx(2**-0.5)
    assert family.track_growth_per_width_doubling(fits, "g_bar_sqnorm") == pytest.approx(2**0.25)


def _outcome(steps: int | None, rate: float, holds: list[bool]) -> TaskOutcome:
    trajectory = [{"step": 0, "rsc_holds": False}] + [
        {"step": t + 1, "rsc_holds": h} for t, h in enumerate(holds)
    ]
    metrics = {"gd_steps_to_target": steps, "gd_geometric_rate": rate}
    return TaskOutcome("ok", "", metrics, trajectory)


def test_gd_families_average_over_fixtures():
    outcomes = {"a": _outcome(10, math.exp(-0.5), [True, True]), "b": _outcome(30, math.exp(-0.25), [False])}
    steps = science.GdConvergence()
    assert steps.track_steps(outcomes, "steps_to_target") == pytest.approx(20.0)
    assert steps.track_steps(outcomes, "steps_per_efold") == pytest.approx((2.0 + 4.0) / 2)
    # pooled over checkpoints after t = 0 (the uncertified t = 0 points do not count): 1 of 3.
    assert science.RscCertification().track_fraction(outcomes, "uncertified_along_gd") == pytest.approx(1 / 3)


def test_gd_families_fail_on_censored_or_non_decreasing_runs():
    steps = science.GdConvergence()
    with pytest.raises(ValueError, match="did not reach its target"):
        steps.track_steps({"a": _outcome(None, 0.5, [True])}, "steps_to_target")
    with pytest.raises(ValueError, match="not in"):
        steps.track_steps({"a": _outcome(5, 1.0, [True])}, "steps_per_efold")
    with pytest.raises(ValueError, match="no RSC checkpoint"):
        science.RscCertification().track_fraction({"a": _outcome(5, 0.5, [])}, "uncertified_along_gd")
