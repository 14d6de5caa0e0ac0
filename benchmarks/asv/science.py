"""The science as asv ``track_`` benchmarks: what rscbench measures, on frozen seeded fixtures.

asv treats every number as "higher is worse" (``asv continuous`` and ``asv compare`` flag a ratio
new / old above the factor) and compares by ratio, so every value tracked here is positive and in
a lower-is-better form. Exponents are therefore tracked as the factor the metric changes by per
doubling of the width, 2^b (or 2^-b): a sign-free positive number whose ratio between two commits
is 2^(b_new - b_old), so a factor of 1.1 flags an exponent change of log2(1.1) = 0.14.

Each family is one class: ``setup_cache`` runs the library (rscbench.run.task.measure_task and
rscbench.analysis.fits.fit_scaling) on the fixtures once per commit and environment, and its single
``track_`` method takes one parameter, ``metric``, naming the family's metrics, which share the
family's ``unit``. The fixtures are fixtures.scaling_tasks() and fixtures.gd_tasks(); the two GD
families share one ``setup_cache`` (asv keys the cache by the function, so GD runs once).
"""

from __future__ import annotations

import math
from typing import ClassVar

from rscbench.analysis.fits import ScalingFit, fit_scaling
from rscbench.analysis.metrics import metric_info
from rscbench.run.task import TaskOutcome, measure_task

from .fixtures import gd_tasks, scaling_tasks

FIT_BOOTSTRAPS = 200
"""Bootstrap resamples of each fit; only the point estimate of the exponent is tracked."""


class WidthScaling:
    """Width exponents at initialization, as the factor per width doubling, lower is better.

    ``predictor_hessian_max`` (Q1): max over probes of ||nabla^2_theta f(theta; x)||_2 fitted as
    C m^b over widths and seeds; the theory predicts b = -1/2 and a faster decay (b lower) is
    what makes the loss smooth and RSC hold at large width, so the value is 2^b (about 0.71; a
    commit that slows the decay raises it).

    ``g_bar_sqnorm`` (Q4): ||g_bar||^2, the squared norm of the average predictor gradient, fitted
    the same way; RSC needs it large (the registry says higher is better, the theory expects it
    O(1), b = 0), so the value is 2^-b (about 1; a commit that makes it shrink with width raises it).

    The direction of each metric comes from rscbench.analysis.metrics (``better``), not from this file.
    """

    params: ClassVar[list[str]] = ["predictor_hessian_max", "g_bar_sqnorm"]
    param_names: ClassVar[list[str]] = ["metric"]
    unit = "factor per width doubling"
    timeout = 900

    def setup_cache(self) -> dict[str, ScalingFit]:
        specs = list(scaling_tasks().values())
        records = [measure_task(spec).metrics for spec in specs]
        widths = [spec.model.width for spec in specs]
        seeds = [spec.seed for spec in specs]
        return {
            metric: fit_scaling(
                widths, [record[metric] for record in records], seeds, n_boot=FIT_BOOTSTRAPS, seed=0
            )
            for metric in self.params
        }

    def track_growth_per_width_doubling(self, fits: dict[str, ScalingFit], metric: str) -> float:
        fit = fits[metric]
        if not math.isfinite(fit.exponent):
            raise ValueError(f"{metric}: the width fit has no finite exponent ({fit.reason})")
        better = metric_info(metric).better
        if better not in ("lower", "higher"):
            raise ValueError(f"{metric}: rscbench.analysis.metrics gives no direction (better={better!r})")
        return fit.growth_factor if better == "lower" else 1.0 / fit.growth_factor


class _GdFixtures:
    """Shared ``setup_cache`` of the GD families: every GD fixture run once, by name."""

    timeout = 900

    def setup_cache(self) -> dict[str, TaskOutcome]:
        outcomes = {name: measure_task(spec) for name, spec in gd_tasks().items()}
        for name, outcome in outcomes.items():
            if outcome.status != "ok":
                raise RuntimeError(f"GD fixture {name}: {outcome.message}")
        return outcomes


class GdConvergence(_GdFixtures):
    """Speed of full-batch GD (Q9) in steps, lower is better, averaged over the GD fixtures.

    ``steps_to_target``: steps until loss <= target_ratio x L(theta_0). A fixture that misses the
    target within its budget makes the benchmark fail (asv marks a new failure as a regression).

    ``steps_per_efold``: the GD rate, the per-step factor r = exp(slope of log L_t), tracked as
    -1 / ln r, the steps GD takes to divide the loss by e. r itself sits just below 1 where ratios
    hardly move (0.95 -> 0.975 is 1.03x but halves the speed); -1/ln r doubles in that case. A
    rate >= 1 (no geometric decrease) makes the benchmark fail.
    """

    params: ClassVar[list[str]] = ["steps_to_target", "steps_per_efold"]
    param_names: ClassVar[list[str]] = ["metric"]
    unit = "steps"

    def track_steps(self, outcomes: dict[str, TaskOutcome], metric: str) -> float:
        values = []
        for name, outcome in outcomes.items():
            if metric == "steps_to_target":
                steps = outcome.metrics["gd_steps_to_target"]
                if steps is None:
                    raise ValueError(f"GD fixture {name} did not reach its target within its budget")
                values.append(float(steps))
            else:
                rate = outcome.metrics["gd_geometric_rate"]
                if not 0 < rate < 1:
                    raise ValueError(f"GD fixture {name}: geometric rate {rate} is not in (0, 1)")
                values.append(-1.0 / math.log(rate))
        return sum(values) / len(values)


class RscCertification(_GdFixtures):
    """How often the RSC certificate (Q6) fails along GD, as a fraction, lower is better.

    ``uncertified_along_gd``: over the checkpoints after t = 0 of every GD fixture, pooled, the
    fraction whose certified lower bound of the restricted curvature is not positive (1 minus the
    RSC-certified fraction). At initialization these small networks are not certified (the paper
    needs larger widths), so the fraction is tracked along the trajectory, where it is informative.
    """

    params: ClassVar[list[str]] = ["uncertified_along_gd"]
    param_names: ClassVar[list[str]] = ["metric"]
    unit = "fraction of checkpoints"

    def track_fraction(self, outcomes: dict[str, TaskOutcome], metric: str) -> float:
        verdicts = [
            point["rsc_holds"]
            for outcome in outcomes.values()
            for point in outcome.trajectory
            if point["step"] > 0 and "rsc_holds" in point
        ]
        if not verdicts:
            raise ValueError("no RSC checkpoint after t = 0 in any GD fixture")
        return sum(not holds for holds in verdicts) / len(verdicts)
