"""The claims a report must account for, and the "not measured" row (with the experiment it needs) of
each claim the stored tasks give no covered row for."""

from __future__ import annotations

from rscbench.analysis.verdicts.common import NOT_MEASURED, Verdict

__all__ = ["CLAIMS", "not_measured"]

CLAIMS: tuple[tuple[str, str, str, str], ...] = (
    (
        "V1",
        "at init",
        "max-probe ||Hessian of f|| at init ~ m^b with the 95% CI of b inside [-0.6, -0.4]",
        "a width sweep at init measuring Q1 (>= 3 widths x >= 3 seeds at fixed depth) for a smooth "
        "activation",
    ),
    (
        "V1",
        "along GD",
        "sup over GD checkpoints of max-probe ||Hessian of f|| ~ m^b with the 95% CI of b <= -0.4",
        "GD runs (gd_steps > 0) at >= 3 widths x >= 3 seeds for a smooth activation",
    ),
    (
        "V2",
        "depth growth",
        "no exponential growth of the predictor-Hessian norm in depth for sigma1 < 1",
        "a depth sweep at init measuring Q1 (>= 4 depths x >= 3 seeds at fixed width) with sigma1 < 1",
    ),
    (
        "V3",
        "width exponent",
        "||g_bar(theta_0)||^2 ~ m^b with the 95% CI's lower end > -1/2",
        "a width sweep at init measuring Q4 (>= 3 widths x >= 3 seeds) for a smooth activation",
    ),
    (
        "V3",
        "m*",
        "a finite width m* exists from which the Q6 certificate holds at init",
        "a width sweep measuring Q6 at init (>= 3 widths x >= 3 seeds) for a smooth activation",
    ),
    (
        "V4",
        "certified fraction",
        "RSC certified at >= 0.95 of the GD checkpoints after t = 0 at the largest width",
        "GD runs (their checkpoints measure Q6) at >= 3 widths x >= 3 seeds for a smooth activation",
    ),
    (
        "V5",
        "geometric tail",
        "every GD run reaches target_ratio and its tail is geometric (late-segment R^2 >= 0.95)",
        "GD runs at >= 3 widths x >= 3 seeds for a smooth activation",
    ),
    (
        "V6",
        "controls",
        "the same measured forms on subjects outside the theory, beside their written expectation",
        "ReLU sweeps, or depth sweeps with sigma1 >= 1, beside the covered ones",
    ),
    (
        "V6",
        "secant vs Hessian",
        "ReLU's kinks show in the secant curvature (Q7) at small radius against the Hessian quadratic form "
        "along the same directions, which agree as r -> 0 for smooth activations",
        "Q7 at radii r -> 0 paired with u^T H u along the same directions, for ReLU beside a smooth "
        "activation: an estimator rscbench does not have yet (Q7 reports only the minimum over radii)",
    ),
    (
        "V7",
        "progress where certified",
        "where RSC is certified along GD, GD makes progress (loss ratio at the budget <= 0.1)",
        "GD runs at >= 3 widths x >= 3 seeds for a smooth activation",
    ),
    (
        "V8",
        "crossing",
        "the observed width from which the certificate holds at init lies inside the CI of m*",
        "a width sweep of the init certificate (Q6, >= 3 seeds) straddling m*; at depth 1 the exact "
        "per-neuron path reaches widths up to 2^20 on a CPU",
    ),
)
"""(id, aspect, claim, the experiment it needs) of every claim of docs/verdicts.md."""


def not_measured(found: list[Verdict]) -> list[Verdict]:
    """A "not measured" row for each claim of CLAIMS that ``found`` has no covered row for (for V6
    "controls": no control row at all; V6 "secant vs Hessian" has no estimator yet, so it is always
    listed)."""
    covered = {(v.form, v.aspect) for v in found if v.covered}
    controls = any(not v.covered for v in found)
    rows = []
    for identifier, aspect, claim, needs in CLAIMS:
        present = controls if (identifier, aspect) == ("V6", "controls") else (identifier, aspect) in covered
        if not present:
            rows.append(
                Verdict(
                    identifier,
                    claim,
                    "-",
                    NOT_MEASURED,
                    covered=identifier != "V6",
                    aspect=aspect,
                    reason=f"needs {needs}",
                )
            )
    return rows
