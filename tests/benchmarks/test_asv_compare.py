"""benchmarks/asv_compare.py: its table parser and verdict rules on asv's own output format, then
the real script against real ``asv continuous`` and ``asv compare`` on the toy repository."""

import sys

import pytest
from asv_harness import BENCHMARKS, load_script

compare = load_script("asv_compare")


def line(mark: str, before: str, after: str, ratio: str, name: str) -> str:
    """One row as asv prints it (tabulate's github format; the padding does not matter)."""
    return f"| {mark:8s} | {before:28s} | {after:27s} | {ratio:>7s} | {name:23s} |\n"


HEADER = line("Change", "Before [3d0d55ad] <main~4>", "After [86d85d46]", "Ratio", "Benchmark (Parameter)")
HEADER += "|----------|------------------------------|-----------------------------|---------|---------|\n"
SLOWER_TIME = line("+", "10.1±0.01ms", "20.1±0.01ms", "1.99", "toy.Toy.time_work")
NOISY_TIME = line("+", "10.1±0.01ms", "10.4±0.01ms", "1.03", "toy.Toy.time_work")
SAME_TIME = line("", "10.1±0.01ms", "10.2±0.01ms", "1.01", "toy.Toy.time_work")
SAME_TRACK = line("", "0.5", "0.5", "1", "toy.Toy.track_metric")
WORSE_TRACK = line("+", "0.5", "0.6", "1.2", "toy.Toy.track_metric")
BROKEN = line("!", "0.5", "failed", "n/a", "toy.Toy.track_metric")
BOTH_FAILED = line("", "failed", "failed", "n/a", "toy.Toy.track_metric")
UNCHANGED = "BENCHMARKS NOT SIGNIFICANTLY CHANGED.\n"
DECREASED = "SOME BENCHMARKS HAVE CHANGED SIGNIFICANTLY.\nPERFORMANCE DECREASED.\n"


def test_parse_table_reads_rows_not_headers():
    rows = compare.parse_table("Benchmarks that have got worse:\n\n" + HEADER + SLOWER_TIME + SAME_TRACK)
    assert [(row.mark, row.name, row.ratio) for row in rows] == [
        ("+", "toy.Toy.time_work", "1.99"),
        ("", "toy.Toy.track_metric", "1"),
    ]
    assert [row.is_track for row in rows] == [False, True]


def test_is_track_looks_at_the_method_name_only():
    name = "science.WidthScaling.track_growth_per_width_doubling('g_bar_sqnorm')"
    assert compare.Row("", "1", "1", "1", name).is_track
    assert not compare.Row("", "1", "1", "1", "track_module.Kernels.time_kernel(64)").is_track


def test_unchanged_pair_passes():
    verdict = compare.judge(0, UNCHANGED, 0, HEADER + SAME_TIME + SAME_TRACK)
    assert verdict.status == 0 and not verdict.regressions


def test_slowdown_flagged_by_continuous_fails():
    verdict = compare.judge(1, HEADER + SLOWER_TIME + DECREASED, 0, HEADER + SLOWER_TIME + SAME_TRACK)
    assert verdict.status == 1
    assert [row.name for row in verdict.regressions] == ["toy.Toy.time_work"]


def test_timing_noise_at_the_tight_track_factor_is_ignored():
    # asv compare at the track factor marks a 1.03x timing change; only asv continuous judges timings.
    verdict = compare.judge(0, UNCHANGED, 0, HEADER + NOISY_TIME + SAME_TRACK)
    assert verdict.status == 0


def test_science_change_below_the_timing_factor_fails():
    verdict = compare.judge(0, UNCHANGED, 0, HEADER + SAME_TIME + WORSE_TRACK)
    assert verdict.status == 1
    assert [row.name for row in verdict.regressions] == ["toy.Toy.track_metric"]


def test_new_failure_fails():
    verdict = compare.judge(2, "", 0, HEADER + SAME_TIME + BROKEN)
    assert verdict.status == 1 and verdict.regressions[0].mark == "!"


def test_failures_on_both_commits_are_no_verdict():
    verdict = compare.judge(2, "", 0, HEADER + SAME_TIME + BOTH_FAILED)
    assert verdict.status == 2 and "toy.Toy.track_metric" in verdict.reasons[0]


def test_missing_compare_table_is_no_verdict():
    assert compare.judge(0, UNCHANGED, 1, "· Benchmark list file missing!").status == 2


def test_factors_must_exceed_one():
    with pytest.raises(SystemExit) as raised:
        compare.main(["A", "B", "--factor", "0.9"])
    assert raised.value.code == 2


@pytest.mark.slow
def test_wrapper_on_a_scratch_repository(toy_repo):
    """Real asv on two-commit pairs: no change passes, a 2x slowdown and a metric change fail."""
    commits = toy_repo.commits

    def wrapper(base: str, head: str):
        script = str(BENCHMARKS / "asv_compare.py")
        machine = ["--machine", toy_repo.machine]
        return toy_repo.run(sys.executable, script, commits[base], commits[head], *machine)

    same = wrapper("base", "unchanged")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "BENCHMARKS NOT SIGNIFICANTLY CHANGED." in same.stdout
    assert "asv_compare: NO REGRESSION" in same.stdout

    slower = wrapper("unchanged", "slower")
    assert slower.returncode == 1, slower.stdout + slower.stderr
    assert "PERFORMANCE DECREASED." in slower.stdout
    assert r"--bench ^(toy\.Toy\.time_work)$" in slower.stdout  # the confirming rerun, time_work alone
    assert "+ toy.Toy.time_work" in slower.stdout.split("asv_compare: REGRESSION")[1]

    science = wrapper("unchanged", "metric")
    assert science.returncode == 1, science.stdout + science.stderr
    # 0.5 -> 0.6 is below the timing factor 1.5: asv continuous alone lets it through.
    assert "BENCHMARKS NOT SIGNIFICANTLY CHANGED." in science.stdout and "--bench ^(" not in science.stdout
    verdict = science.stdout.split("asv_compare: REGRESSION")[1]
    assert "+ toy.Toy.track_metric: 0.5 -> 0.6" in verdict and "time_work" not in verdict


def test_timing_regression_not_confirmed_by_the_rerun_passes():
    first = HEADER + SLOWER_TIME + DECREASED
    verdict = compare.judge(1, first, 0, HEADER + SLOWER_TIME + SAME_TRACK, UNCHANGED)
    assert verdict.status == 0


def test_timing_regression_confirmed_by_the_rerun_fails():
    first = HEADER + SLOWER_TIME + DECREASED
    verdict = compare.judge(1, first, 0, HEADER + SLOWER_TIME + SAME_TRACK, first)
    assert verdict.status == 1 and [row.name for row in verdict.regressions] == ["toy.Toy.time_work"]


def test_confirmation_that_compared_nothing_dismisses_nothing():
    first = HEADER + SLOWER_TIME + DECREASED
    verdict = compare.judge(1, first, 0, HEADER + SLOWER_TIME + SAME_TRACK, "· No benchmarks selected\n")
    assert verdict.status == 1 and [row.name for row in verdict.regressions] == ["toy.Toy.time_work"]
