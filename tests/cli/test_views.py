"""The compact verdict view: one line per verdict within 100 columns, its deciding numbers or its
reason, controls marked."""

from dataclasses import dataclass, field

from rscbench.analysis.verdicts import Verdict
from rscbench.cli.views import verdict_lines


@dataclass(frozen=True)
class WithCoverage:
    id: str
    subject: str
    status: str
    numbers: dict = field(default_factory=dict)
    covered: bool = True


def test_each_verdict_is_one_line_within_100_columns() -> None:
    verdicts = [
        Verdict("V1", "c", "tanh", "supported", {"exponent": -0.4709, "ci_low": -0.4745, "ci_high": -0.466}),
        Verdict(
            "V3",
            "c",
            "tanh sigma1=0.5 vs depth and a subject longer than the column",
            "not supported",
            {"preferred": "exponential", "per_layer_factor": 0.0544, "per_layer_factor_ci": [0.0533, 0.0552]},
        ),
        Verdict(
            "V4", "c", "tanh", "inconclusive", {"reason": "2 seeds: fewer than the 3 a verdict needs " * 4}
        ),
        Verdict("V3", "c", "tanh m*", "supported", {"m_star": 2.5e6, "m_star_ci": [8.5e5, 1e7]}),
    ]
    lines = verdict_lines(verdicts)
    assert len(lines) == 5 and all(len(line) <= 100 for line in lines)
    assert "b=-0.471 [-0.474, -0.466]" in lines[1] and "x0.0544/layer [0.0533, 0.0552]" in lines[2]
    assert lines[3].startswith("V4") and "2 seeds: fewer" in lines[3] and lines[3].endswith("…")
    assert "m*=2.5e+06 [8.5e+05, 1e+07]" in lines[4]
    assert "…" in lines[2].split("exponential")[0]  # the long subject is cut, not the numbers


def test_a_subject_outside_the_theory_is_marked_a_control() -> None:
    line = verdict_lines([WithCoverage("V6", "relu", "supported", {"exponent": -0.48}, covered=False)])[1]
    assert "relu (control)" in line


def test_descent_numbers_and_a_reason_field_read_as_the_verdicts_write_them() -> None:
    descent = Verdict(
        "V5",
        "c",
        "tanh sigma1=1",
        "supported",
        {
            "runs": 3,
            "reached_target": 3,
            "geometric_tail": 3,
            "late_rate_median": 0.91,
            "pl_bound_rate_median": 0.97,
        },
        aspect="geometric tail",
    )
    waiting = Verdict("V1", "c", "-", "not measured", {}, aspect="at init", reason="needs a width sweep")
    lines = verdict_lines([descent, waiting])
    assert "3/3 reached, 3 geometric; rate 0.91 (PL bound 0.97)" in lines[1]
    assert "geometric tail" in lines[1] and "None" not in lines[1]
    assert "at init" in lines[2] and lines[2].endswith("needs a width sweep")
