"""The cost model: work counts scale as they should, a fit recovers known coefficients from records,
ignores a load spike, refuses to guess without records, and states its GPU assumption."""

import json
import math

import pytest

from rscbench.run.cost_model import (
    ASSUMED_GPU_SPEEDUP,
    MIN_RECORDS,
    calibrate,
    calibration_records,
    paper_parameters,
    task_work,
)
from rscbench.run.specs import task_from_flat
from rscbench.store import TaskRecord

SETUP, STEP, FLOP = 0.05, 2e-3, 1e-10


def spec(**fields):
    return task_from_flat({"n": 32, "d": 8, "probes": 4, "quantities": ["Q1", "Q3", "Q4"]} | fields)


def work_seconds(task, n: int, parameters: int, gd_steps=None) -> float:
    work = task_work(task, n=n, parameters=parameters, gd_steps=gd_steps)
    return SETUP + sum(STEP * w.steps + FLOP * w.flops for w in work.values())


def record(task, seconds: float, *, trajectory_steps: int = 0, parts=None, device="cpu") -> TaskRecord:
    n, parameters = task.data.n, paper_parameters(task, task.data.d or 8)
    return TaskRecord(
        task_id=task.task_id,
        spec=task.canonical(),
        status="ok",
        message="",
        wall_seconds=seconds,
        peak_memory_bytes=None,
        metrics={"n": n, "parameters": parameters},
        trajectory=[{"step": t} for t in range(trajectory_steps + 1)] if trajectory_steps else [],
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:01+00:00",
        rscbench_version="0",
        measurement_version="1",
        device=device,
        quantity_seconds=parts or {},
    )


def synthetic(widths=(16, 32, 64, 128, 256, 512, 1024)) -> list[TaskRecord]:
    records = []
    for width in widths:
        for depth in (1, 2, 3):
            task = spec(width=width, depth=depth)
            records.append(record(task, work_seconds(task, 32, paper_parameters(task, 8))))
    return records


def test_work_grows_with_width_samples_probes_and_steps() -> None:
    small, wide = spec(width=64), spec(width=256)
    P_small, P_wide = paper_parameters(small, 8), paper_parameters(wide, 8)
    assert P_small == 8 * 64 + 64 * 64 + 64
    a = task_work(small, n=32, parameters=P_small)
    b = task_work(wide, n=32, parameters=P_wide)
    assert set(a) == {"Q1", "Q3", "Q4"} and all(b[q].flops > a[q].flops for q in a)
    assert task_work(small, n=64, parameters=P_small)["Q3"].flops == 2 * a["Q3"].flops
    gd = spec(width=64, gd_steps=100, rsc_every=10, beta_every=10)
    short = task_work(gd, n=32, parameters=P_small, gd_steps=10)["Q9"]
    full = task_work(gd, n=32, parameters=P_small)["Q9"]
    assert full.steps > 5 * short.steps
    double = task_work(spec(width=64, dtype="float64"), n=32, parameters=P_small)
    assert double["Q3"].flops == 2 * a["Q3"].flops and double["Q3"].steps == a["Q3"].steps
    only_theorem = task_work(spec(quantities=["Q8"]), n=32, parameters=P_small)
    assert only_theorem["Q8"].flops > 0  # Q8 alone pays for the pieces of Q1, Q4 and Q6


def test_a_fit_recovers_known_costs_and_ignores_a_load_spike() -> None:
    records = synthetic()
    spiked = [*records[:-1], record(spec(width=1024, depth=3), 50 * records[-1].wall_seconds)]
    model = calibrate(spiked)
    assert model is not None and model.records == len(spiked) and "task totals" in model.assumption
    for check in records:
        task = spec(**{k: check.spec["model"][k] for k in ("width", "depth")})
        predicted = model.seconds(task, n=32, parameters=check.metrics["parameters"])
        assert predicted == pytest.approx(check.wall_seconds, rel=0.1)


def test_per_quantity_times_fit_each_quantity_on_its_own() -> None:
    records = []
    for width in (16, 64, 256, 1024):
        task = spec(width=width)
        work = task_work(task, n=32, parameters=paper_parameters(task, 8))
        parts = {"setup": SETUP} | {q: STEP * w.steps + FLOP * w.flops for q, w in work.items()}
        parts["Q3"] *= 10  # one quantity ten times dearer than the shared rate says
        records.append(record(task, sum(parts.values()), parts=parts))
    model = calibrate(records)
    assert set(model.per_quantity) == {"Q1", "Q3", "Q4"} and "per-quantity times" in model.assumption
    task = spec(width=512)
    parts = model.quantity_seconds(task, n=32, parameters=paper_parameters(task, 8))
    work = task_work(task, n=32, parameters=paper_parameters(task, 8))["Q3"]
    assert parts["Q3"] == pytest.approx(10 * (STEP * work.steps + FLOP * work.flops), rel=0.05)


def test_gd_is_expected_to_run_the_calibrated_fraction_of_its_budget() -> None:
    records = synthetic()
    for width in (16, 32, 64):
        task = spec(width=width, gd_steps=100, rsc_every=10)
        parameters = paper_parameters(task, 8)
        records.append(record(task, work_seconds(task, 32, parameters, 25), trajectory_steps=25))
    model = calibrate(records)
    assert model.gd_fraction == {"tanh": 0.25, "": 0.25}
    assert model.expected_gd_steps(spec(gd_steps=400)) == 100


def test_no_model_without_records_and_a_stated_gpu_assumption_without_cuda_records() -> None:
    records = synthetic()
    assert calibrate(records[: MIN_RECORDS - 1]) is None
    assert calibrate(records, "cuda") is None
    cpu = calibrate(records)
    gpu = cpu.for_device("cuda")
    assert (
        gpu.device == "cuda" and "assumed" in gpu.assumption and f"{ASSUMED_GPU_SPEEDUP:g}x" in gpu.assumption
    )
    assert gpu.flop == pytest.approx(cpu.flop / ASSUMED_GPU_SPEEDUP) and gpu.step == cpu.step
    task = spec(width=1024, depth=3, device="cuda")
    assert gpu.seconds(task, n=32, parameters=paper_parameters(task, 8)) < cpu.seconds(
        task, n=32, parameters=paper_parameters(task, 8)
    )
    cuda_records = [
        record(spec(width=w, device="cuda"), 0.1 + w * 1e-4, device="cuda:H100") for w in (8, 16, 32)
    ]
    fitted = calibrate(cuda_records, "cuda")
    assert fitted is not None and "cuda records" in fitted.assumption
    assert not math.isnan(fitted.setup)


def test_trace_density_and_optimizer_work_follow_their_counts() -> None:
    P = paper_parameters(spec(), 8)
    trace = task_work(spec(quantities=["Q11"], trace_products=30), n=32, parameters=P)["Q11"]
    assert trace.steps == 30 and task_work(spec(quantities=["Q11"]), n=32, parameters=P)["Q11"].steps == 99
    density = task_work(spec(quantities=["Q12"], density_vectors=4, density_steps=16), n=32, parameters=P)
    assert density["Q12"].steps == 64
    longer = task_work(spec(quantities=["Q12"], density_vectors=4, density_steps=32), n=32, parameters=P)
    assert longer["Q12"].flops > 2 * density["Q12"].flops  # reorthogonalization grows with steps^2
    trained = {"gd_steps": 100, "quantities": ["Q1"], "lr": 0.1}
    full = task_work(spec(optimizer="sgd", **trained), n=32, parameters=P)["Q9"]
    batched = task_work(spec(optimizer="sgd", batch_size=8, **trained), n=32, parameters=P)["Q9"]
    adam = task_work(spec(optimizer="adam", **trained), n=32, parameters=P)["Q9"]
    assert batched.flops < full.flops < adam.flops and batched.steps == full.steps
    gd = task_work(spec(gd_steps=100, quantities=["Q1"]), n=32, parameters=P)["Q9"]
    assert gd.flops < full.flops  # sgd adds a full-batch loss per step to the gradient


def test_the_depth_one_per_neuron_path_is_fitted_apart_from_lanczos() -> None:
    records = []
    for width in (16, 64, 256, 1024):
        for depth in (1, 2):
            task = spec(width=width, depth=depth, quantities=["Q1", "Q4"])
            work = task_work(task, n=32, parameters=paper_parameters(task, 8))
            parts = {"setup": SETUP} | {q: STEP * w.steps + FLOP * w.flops for q, w in work.items()}
            if depth == 1:
                parts["Q1"] *= 7  # the exact path has its own cost per unit of its work
            records.append(record(task, sum(parts.values()), parts=parts))
    model = calibrate(records)
    assert {"Q1", "Q1 (neuron blocks)"} <= set(model.per_quantity)
    for depth, factor in ((1, 7), (2, 1)):
        task = spec(width=512, depth=depth, quantities=["Q1", "Q4"])
        parameters = paper_parameters(task, 8)
        expected = task_work(task, n=32, parameters=parameters)["Q1"]
        seconds = model.quantity_seconds(task, n=32, parameters=parameters)["Q1"]
        assert seconds == pytest.approx(factor * (STEP * expected.steps + FLOP * expected.flops), rel=0.05)


def test_reports_of_schema_4_calibrate_without_their_regime_fields(tmp_path) -> None:
    tasks = [
        record(spec(width=w), 0.1 * w).to_dict() | {"regime": "unmeasured", "regime_labels": ["unmeasured"]}
        for w in (8, 16, 32)
    ]
    folder = tmp_path / "suite" / "20260101T000000Z-00000000"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"schema_version": 4, "tasks": tasks}))
    assert [r.wall_seconds for r in calibration_records(reports_root=tmp_path)] == [0.8, 1.6, 3.2]
