"""Synthetic stored tasks and GD trajectories with a known answer, shaped like ResultStore frames."""

import math

import numpy as np
import pandas as pd

from rscbench.analysis.verdicts import judge

WIDTHS = (64, 128, 256, 512, 1024)


def task(activation: str = "tanh", width: int = 256, depth: int = 2, seed: int = 0, **extra) -> dict:
    """One stored task row: ok, the paper's network, the given model fields; ``extra`` adds columns."""
    row = {
        "task_id": f"{activation}-{width}-{depth}-{seed}-{extra.get('spec.model.sigma1', 1.0)}",
        "status": "ok",
        "spec.model.arch": "paper_mlp",
        "spec.model.activation": activation,
        "spec.model.width": width,
        "spec.model.depth": depth,
        "spec.model.sigma1": 1.0,
        "spec.protocol.gd_steps": 0,
        "spec.seed": seed,
    }
    return row | extra


def width_rows(
    metric: str, law, *, activation="tanh", widths=WIDTHS, seeds=(0, 1, 2), noise=0.03, rng=7, **extra
):
    """A width sweep of ``metric`` = law(m) x lognormal noise (a shift per seed and one per task)."""
    generator = np.random.default_rng(rng)
    out = []
    for seed in seeds:
        shift = generator.normal(0, noise)
        for width in widths:
            value = law(width) * math.exp(shift + generator.normal(0, noise))
            out.append(task(activation, width, seed=seed, **{f"metric.{metric}": value} | extra))
    return out


def depth_rows(
    metric: str, law, *, sigma1: float, depths=(1, 2, 3, 4, 6, 8), seeds=(0, 1, 2), noise=0.02, rng=3
):
    """A tanh depth sweep at width 256 of ``metric`` = law(L) x lognormal noise."""
    generator = np.random.default_rng(rng)
    return [
        task(
            "tanh",
            256,
            depth,
            seed,
            **{
                "spec.model.sigma1": sigma1,
                f"metric.{metric}": law(depth) * math.exp(generator.normal(0, noise)),
            },
        )
        for seed in seeds
        for depth in depths
    ]


def fast_drop_then_geometric(steps: int, *, drop: int = 8, rate: float = 0.985) -> np.ndarray:
    """The real GD curves' shape: ~100x down in ``drop`` steps, then geometric at ``rate`` per step."""
    t = np.arange(steps)
    return np.exp(-math.log(100.0) * np.minimum(t, drop) / drop) * rate ** np.maximum(t - drop, 0)


def gd_family(
    *,
    activation: str = "tanh",
    widths=(64, 128, 256),
    seeds=(0, 1, 2),
    curve=None,
    certified: float = 1.0,
    outcome: str = "reached_target",
    predicted_rate: float = 0.97,
    pl_constant: float = 4e-4,
    beta: float = 0.06,
    arch: str = "paper_mlp",
) -> tuple[list[dict], list[dict]]:
    """GD tasks and their trajectories: losses ``curve`` (default: fast drop then 0.985 per step down
    to 1e-3), a checkpoint every 50 steps whose certificate holds in a share ``certified`` of the
    checkpoints after t = 0, beta re-measured every 20 steps."""
    losses = fast_drop_then_geometric(400) if curve is None else np.asarray(curve, dtype=float)
    if outcome == "reached_target" and curve is None:
        losses = losses[: int(np.argmax(losses <= 1e-3)) + 1]
    tasks, steps = [], []
    for seed in seeds:
        for width in widths:
            row = task(
                activation, width, seed=seed, **{"spec.protocol.gd_steps": 400, "spec.model.arch": arch}
            )
            row["task_id"] += "-gd"
            checkpoints = [t for t in range(len(losses)) if t % 50 == 0 or t == len(losses) - 1]
            later = checkpoints[1:]
            holds = {t: i < round(certified * len(later)) for i, t in enumerate(later)} | {0: False}
            row |= {
                "metric.gd_steps_taken": len(losses) - 1,
                "metric.gd_outcome": outcome,
                "metric.gd_steps_to_target": len(losses) - 1 if outcome == "reached_target" else None,
                "metric.gd_final_loss_ratio": float(losses[-1] / losses[0]),
                "metric.gd_rsc_certified_fraction": sum(holds[t] for t in later) / len(later),
                "metric.gd_rsc_certified_at_init": False,
                "metric.gd_predicted_rate": predicted_rate,
                "metric.gd_rate_r2": 0.7,
                "metric.gd_ntk_drift": 8.0,
            }
            tasks.append(row)
            for t, loss in enumerate(losses):
                point = {"task_id": row["task_id"], "step": t, "loss": float(loss)}
                if t in holds:
                    point |= {
                        "rsc_lower": 1e-3 if holds[t] else -1e-2,
                        "pl_constant": pl_constant,
                        "certificate_ratio": 60.0,
                    }
                if t % 20 == 0:
                    point["beta_hat"] = beta
                steps.append(point)
    return tasks, steps


def judged(records: list[dict], trajectories: list[dict] | None = None) -> dict:
    """judge() of the records, keyed (form, subject, aspect) for rows with a subject, and the list."""
    frame = pd.DataFrame(records)
    paths = pd.DataFrame(trajectories) if trajectories is not None else None
    verdicts = judge(frame, paths)
    return {(v.form, v.subject, v.aspect): v for v in verdicts}


def certificate_rows(
    gauss_newton, minus_lambda_min_r, *, widths=(64, 128, 256, 512), seeds=(0, 1, 2), noise=0.02
):
    """Init-certificate rows of tanh tasks whose two terms follow the given laws in width (log-normal
    noise of ``noise`` per task): the Gauss-Newton term and -lambda_min(R)."""
    generator = np.random.default_rng(9)
    out = []
    for seed in seeds:
        for width in widths:
            gn = gauss_newton(width) * math.exp(generator.normal(0, noise))
            lam = -minus_lambda_min_r(width) * math.exp(generator.normal(0, noise))
            row = task("tanh", width, seed=seed, **{"spec.protocol.gd_steps": 100})
            out.append(
                row
                | {
                    "metric.rsc_lambda_min_R": lam,
                    "metric.rsc_lower_gn": gn + lam,
                    "metric.rsc_lower": gn + lam,
                }
            )
    return out
