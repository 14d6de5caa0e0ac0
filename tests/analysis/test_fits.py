"""rscbench.analysis fits: known laws recovered, cluster-bootstrap CIs cover, inconclusive data flagged."""

import math

import numpy as np
import pytest

from rscbench.analysis.bootstrap import bootstrap_ci
from rscbench.analysis.fits import ScalingFit, compare_depth_laws, fit_scaling
from rscbench.analysis.thresholds import extrapolate_threshold_width
from rscbench.errors import InvalidArgumentError

WIDTHS = np.array([16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0])


def power_data(
    b: float = -0.5,
    c: float = 2.0,
    n_seeds: int = 5,
    noise: float = 0.1,
    seed: int = 0,
    xs: np.ndarray = WIDTHS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = c x^b exp(eps) with independent multiplicative noise per (seed, x)."""
    rng = np.random.default_rng(seed)
    x = np.tile(xs, n_seeds)
    g = np.repeat(np.arange(n_seeds), xs.size)
    y = c * x**b * np.exp(rng.normal(0.0, noise, x.size))
    return x, y, g


# ------------------------------------------------------------------------------------ recovery


def test_power_law_recovered() -> None:
    x, y, g = power_data()
    fit = fit_scaling(x, y, g)
    assert fit.law == "power" and fit.conclusive and fit.reason == ""
    # 35 points, noise sd 0.1 over a log-range of ln(64) ~ 4.2: the slope's standard error is ~0.01
    assert abs(fit.exponent + 0.5) < 0.05
    assert fit.ci_low < -0.5 < fit.ci_high and fit.ci_high - fit.ci_low < 0.2
    assert fit.prefactor == pytest.approx(2.0, rel=0.25)
    assert (fit.n_points, fit.n_x, fit.n_groups) == (35, 7, 5)
    assert fit.r2 > 0.95 and fit.confidence == 0.95
    assert fit.growth_factor == pytest.approx(2.0**fit.exponent)
    assert fit.predict(64.0) == pytest.approx(fit.prefactor * 64.0**fit.exponent)
    assert fit.draws is not None and fit.draws.shape == (2000, 2)


def test_exponential_law_recovered() -> None:
    rng = np.random.default_rng(1)
    depth = np.tile(np.arange(1.0, 9.0), 4)
    seeds = np.repeat(np.arange(4), 8)
    y = 0.3 * np.exp(0.7 * depth + rng.normal(0.0, 0.1, depth.size))
    fit = fit_scaling(depth, y, seeds, law="exponential")
    assert fit.conclusive
    assert abs(fit.exponent - 0.7) < 0.05
    assert fit.ci_low < 0.7 < fit.ci_high
    assert fit.growth_factor == pytest.approx(math.exp(fit.exponent))  # factor per layer
    assert fit.prefactor == pytest.approx(0.3, rel=0.25)


def test_exact_data_gives_exact_fit_and_zero_width_interval() -> None:
    x = np.tile(WIDTHS, 3)
    fit = fit_scaling(x, 3.0 * x**0.25, np.repeat([0, 1, 2], WIDTHS.size), n_boot=200)
    assert fit.exponent == pytest.approx(0.25) and fit.prefactor == pytest.approx(3.0)
    assert fit.ci_low == pytest.approx(0.25) and fit.ci_high == pytest.approx(0.25)
    assert fit.rss == pytest.approx(0.0, abs=1e-20) and fit.r2 == pytest.approx(1.0)


def test_no_groups_resamples_observations() -> None:
    x, y, _ = power_data(seed=3)
    fit = fit_scaling(x, y, n_boot=500)
    assert fit.n_groups == x.size and fit.group_labels is None
    assert fit.conclusive and fit.ci_low < -0.5 < fit.ci_high


def test_tuple_labels_are_one_group_each() -> None:
    x, y, g = power_data(n_seeds=4)
    probe = np.arange(x.size) % 2
    pairs = list(zip(g.tolist(), probe.tolist(), strict=True))
    by_tuple = fit_scaling(x, y, pairs, n_boot=200)
    by_rows = fit_scaling(x, y, np.column_stack([g, probe]), n_boot=200)
    assert by_tuple.n_groups == 8 and by_tuple == by_rows
    assert by_tuple.group_labels[0] == (0, 0)


# ------------------------------------------------------------------------------------ coverage


def _coverage(interval: str, reps: int, n_groups: int) -> float:
    """Share of synthetic experiments whose 95% cluster-bootstrap CI contains the true exponent -0.5.

    Each experiment: 5 widths, ``n_groups`` seeds; seed g has its own intercept (sd 0.3) *and* its
    own slope offset (sd 0.05), plus independent noise per (seed, width) (sd 0.1). The random slope
    makes observations of one seed correlated in the slope, so resampling observations instead of
    seeds would under-cover; the cluster bootstrap is what is being checked.
    """
    rng = np.random.default_rng(2024)
    xs = np.array([16.0, 32.0, 64.0, 128.0, 256.0])
    covered = 0
    for rep in range(reps):
        intercept = rng.normal(0.0, 0.3, n_groups)
        slope = rng.normal(0.0, 0.05, n_groups)
        x = np.tile(xs, n_groups)
        g = np.repeat(np.arange(n_groups), xs.size)
        y = 2.0 * x ** (-0.5 + slope[g]) * np.exp(intercept[g] + rng.normal(0.0, 0.1, x.size))
        fit = fit_scaling(x, y, g, n_boot=400, seed=rep, interval=interval)
        covered += fit.ci_low <= -0.5 <= fit.ci_high
    return covered / reps


def test_cluster_bootstrap_coverage() -> None:
    # 500 experiments with 8 seeds each; here the expanded interval covers 0.926 and the plain
    # percentile interval 0.854 (over 1000 experiments: 0.94 and 0.87; with 6 seeds 0.93 and 0.88;
    # with 12 seeds 0.95 and 0.92). A percentile interval over G clusters is too narrow by about
    # sqrt((G-1)/G) and uses z where t_{G-1} belongs; the expanded interval (the default) corrects
    # most of that, and the rest is the coarseness of resampling only 8 clusters. Band [0.88, 0.99]:
    # nominal 0.95, minus that residual under-coverage (~0.01-0.02), minus 3 binomial standard
    # errors (sd ~0.011 at 500 experiments); above 0.99 the interval would be needlessly wide.
    expanded = _coverage("expanded", reps=500, n_groups=8)
    assert 0.88 <= expanded <= 0.99, expanded
    percentile = _coverage("percentile", reps=500, n_groups=8)
    assert percentile <= expanded  # the correction widens, never narrows


# ------------------------------------------------------------------------------------ inconclusive


def test_too_few_distinct_x_is_inconclusive() -> None:
    x, y, g = power_data(xs=np.array([64.0, 128.0]))
    fit = fit_scaling(x, y, g, n_boot=200)
    assert not fit.conclusive and "min_x=3" in fit.reason
    assert math.isfinite(fit.exponent)  # reported, but flagged


def test_single_x_cannot_be_fitted() -> None:
    fit = fit_scaling([8.0, 8.0, 8.0], [1.0, 2.0, 3.0], [0, 1, 2], n_boot=100)
    assert not fit.conclusive and "no line" in fit.reason
    assert math.isnan(fit.exponent) and math.isnan(fit.ci_low) and math.isnan(fit.ci_high)


def test_too_few_points_is_inconclusive() -> None:
    fit = fit_scaling([16.0, 32.0], [1.0, 0.7], n_boot=100)
    assert not fit.conclusive and "min_x" in fit.reason and "min_groups" not in fit.reason
    fit = fit_scaling([16.0], [1.0], n_boot=100)
    assert not fit.conclusive and "observations < min_groups" in fit.reason


def test_too_few_groups_is_inconclusive() -> None:
    x, y, _ = power_data(n_seeds=1)
    fit = fit_scaling(x, y, np.zeros(x.size, dtype=int), n_boot=200)
    assert not fit.conclusive and "1 groups < min_groups=2" in fit.reason
    x, y, g = power_data(n_seeds=3)
    fit = fit_scaling(x, y, g, n_boot=200, min_groups=4)
    assert not fit.conclusive and "3 groups < min_groups=4" in fit.reason


def test_degenerate_bootstrap_is_inconclusive() -> None:
    # 30 groups measured only at x = 1, one at x = 2, one at x = 4: a resample misses both of the
    # latter with probability (30/32)^32 ~ 0.13 > 10%, and such a resample has one x: no slope.
    x = np.array([1.0] * 30 + [2.0, 4.0])
    y = np.exp(np.random.default_rng(0).normal(0.0, 0.1, x.size)) * x**-0.5
    fit = fit_scaling(x, y, np.arange(x.size))
    assert fit.n_x == 3 and fit.n_groups == 32
    assert not fit.conclusive and "degenerate" in fit.reason
    assert 0.10 < 1 - fit.n_boot_valid / fit.n_boot < 0.16
    assert np.isnan(fit.draws).all(axis=1).sum() == fit.n_boot - fit.n_boot_valid


# ------------------------------------------------------------------------------------ determinism


def test_same_seed_same_interval() -> None:
    x, y, g = power_data(seed=5)
    a = fit_scaling(x, y, g, n_boot=300, seed=7)
    b = fit_scaling(x, y, g, n_boot=300, seed=7)
    c = fit_scaling(x, y, g, n_boot=300, seed=8)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert a == b and (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert "draws" not in repr(a)
    assert bootstrap_ci(y, g, n_boot=300, seed=3) == bootstrap_ci(y, g, n_boot=300, seed=3)


# ------------------------------------------------------------------------------------ depth laws


def _depth_data(fn, noise: float = 0.1, seed: int = 0, depths=range(1, 9), n_seeds: int = 4):
    rng = np.random.default_rng(seed)
    depth = np.tile(np.asarray(list(depths), dtype=float), n_seeds)
    groups = np.repeat(np.arange(n_seeds), depth.size // n_seeds)
    return depth, fn(depth) * np.exp(rng.normal(0.0, noise, depth.size)), groups


def test_depth_exponential_is_recognised() -> None:
    choice = compare_depth_laws(*_depth_data(lambda d: np.exp(0.7 * d)), n_boot=300)
    assert choice.preferred == "exponential" and choice.delta > 2.0
    assert choice.per_layer_factor == pytest.approx(math.exp(0.7), rel=0.05)
    assert "AIC" in choice.criterion


def test_depth_power_is_recognised() -> None:
    choice = compare_depth_laws(*_depth_data(lambda d: d**2.0), n_boot=300)
    assert choice.preferred == "power" and choice.delta < -2.0
    assert choice.power.exponent == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("seed", range(5))
def test_depth_pure_noise_is_inconclusive(seed: int) -> None:
    choice = compare_depth_laws(*_depth_data(lambda d: np.ones_like(d), noise=0.3, seed=seed), n_boot=300)
    assert choice.preferred == "inconclusive" and "inconclusive:" in choice.criterion


def test_depth_three_depths_are_inconclusive() -> None:
    data = _depth_data(lambda d: np.exp(0.7 * d), depths=[1, 2, 3])
    choice = compare_depth_laws(*data, n_boot=300)
    assert choice.preferred == "inconclusive" and "3 distinct depths < 4" in choice.criterion


def test_depth_exact_lines() -> None:
    depth = np.arange(1.0, 9.0)
    assert compare_depth_laws(depth, np.exp(0.5 * depth), n_boot=200).preferred == "exponential"
    assert compare_depth_laws(depth, depth**1.5, n_boot=200).preferred == "power"


# ------------------------------------------------------------------------------------ bootstrap_ci


def test_bernoulli_fraction() -> None:
    rng = np.random.default_rng(11)
    hits = (rng.random(400) < 0.3).astype(float)
    est, low, high = bootstrap_ci(hits)
    assert est == hits.mean()
    # binomial: 1.96 sqrt(0.3 * 0.7 / 400) ~ 0.045 on each side
    assert low < 0.3 < high and 0.06 < high - low < 0.12
    assert low == pytest.approx(est - 0.045, abs=0.015) and high == pytest.approx(est + 0.045, abs=0.015)


def test_bernoulli_fraction_clustered_is_wider() -> None:
    # 10 runs x 20 checkpoints; runs differ in their success rate, so runs are the units.
    rng = np.random.default_rng(12)
    rates = rng.uniform(0.5, 1.0, 10)
    hits = (rng.random((10, 20)) < rates[:, None]).astype(float).ravel()
    runs = np.repeat(np.arange(10), 20)
    _, lo_c, hi_c = bootstrap_ci(hits, runs)
    _, lo_i, hi_i = bootstrap_ci(hits)
    assert lo_c <= hits.mean() <= hi_c and hi_c - lo_c > hi_i - lo_i


def test_bootstrap_ci_edges() -> None:
    assert bootstrap_ci(np.ones(30)) == (1.0, 1.0, 1.0)
    est, low, high = bootstrap_ci([1.0, 0.0, 1.0], groups=["a", "a", "a"])
    assert est == pytest.approx(2 / 3) and math.isnan(low) and math.isnan(high)
    est, low, high = bootstrap_ci([1.0, 2.0, 3.0, 4.0], statistic=np.median, n_boot=200)
    assert est == 2.5 and 1.0 <= low <= est <= high <= 4.0


# ------------------------------------------------------------------------------------ threshold


def test_threshold_exact_crossing() -> None:
    # 1 * m^0 = 10 m^-0.5  <=>  m = 100
    m, low, high = extrapolate_threshold_width(ScalingFit.known(1.0, 0.0), ScalingFit.known(10.0, -0.5))
    assert m == pytest.approx(100.0) and low == pytest.approx(100.0) and high == pytest.approx(100.0)
    # the same from exact (noise-free) data, fitted
    x = np.tile(WIDTHS, 3)
    g = np.repeat([0, 1, 2], WIDTHS.size)
    lhs = fit_scaling(x, 0.5 * x**-0.25, g, n_boot=200)
    rhs = fit_scaling(x, 5.0 * x**-0.5, g, n_boot=200)
    result = extrapolate_threshold_width(lhs, rhs)
    assert result.m_star == pytest.approx(1e4, rel=1e-6) and result.paired and result.conclusive
    assert result.ci_low == pytest.approx(1e4, rel=1e-6) and result.ci_high == pytest.approx(1e4, rel=1e-6)
    assert result.extrapolated  # 1e4 is beyond the widest fitted width, 1024


def test_threshold_conventions() -> None:
    known = ScalingFit.known
    # lhs already above at every m >= 1 (crossing at m = 0.01 < 1): m* = 1
    assert extrapolate_threshold_width(known(1.0, 0.0), known(0.1, -0.5)).m_star == 1.0
    # lhs falls behind for large m (b1 < b2): never holds from some width on
    assert extrapolate_threshold_width(known(1.0, -0.5), known(1.0, 0.0)).m_star == math.inf
    assert extrapolate_threshold_width(known(10.0, -0.5), known(1.0, 0.0)).m_star == math.inf
    # parallel lines: always (C1 >= C2) or never
    assert extrapolate_threshold_width(known(2.0, -0.5), known(1.0, -0.5)).m_star == 1.0
    assert extrapolate_threshold_width(known(1.0, -0.5), known(2.0, -0.5)).m_star == math.inf


def test_threshold_ci_contains_truth_when_noisy() -> None:
    # lhs ~ 0.5 m^-0.25, rhs ~ 5 m^-0.5, measured on the same seeds with a shared seed effect:
    # the truth is m* = (5 / 0.5)^(1 / 0.25) = 1e4.
    rng = np.random.default_rng(21)
    n_seeds = 8
    x = np.tile(WIDTHS, n_seeds)
    g = np.repeat(np.arange(n_seeds), WIDTHS.size)
    shared = rng.normal(0.0, 0.1, n_seeds)[g]
    lhs = fit_scaling(x, 0.5 * x**-0.25 * np.exp(shared + rng.normal(0, 0.05, x.size)), g, n_boot=1000)
    rhs = fit_scaling(x, 5.0 * x**-0.5 * np.exp(shared + rng.normal(0, 0.05, x.size)), g, n_boot=1000)
    result = extrapolate_threshold_width(lhs, rhs)
    assert result.paired and result.conclusive
    assert result.ci_low < 1e4 < result.ci_high
    assert result.ci_low < result.m_star < result.ci_high
    # against the exactly known reference line the same measured lhs also brackets the truth
    vs_known = extrapolate_threshold_width(lhs, ScalingFit.known(5.0, -0.5))
    assert not vs_known.paired and vs_known.ci_low < 1e4 < vs_known.ci_high


def test_threshold_inconclusive_fit_propagates() -> None:
    x, y, g = power_data(xs=np.array([64.0, 128.0]))
    weak = fit_scaling(x, y, g, n_boot=200)
    result = extrapolate_threshold_width(weak, ScalingFit.known(1.0, -1.0))
    assert not result.conclusive and "lhs inconclusive" in result.reason


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 2.0]), "y"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 0.0, 2.0]), "y"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, -1.0, 2.0]), "y"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, np.nan, 2.0]), "y"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, np.inf, 2.0]), "y"),
        (lambda: fit_scaling([0.0, 2.0, 3.0], [1.0, 1.0, 2.0]), "x"),
        (lambda: fit_scaling([], []), "x"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], [0, 1]), "groups"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], law="linear"), "law"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], confidence=1.0), "confidence"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], confidence=0.0), "confidence"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], n_boot=0), "n_boot"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], min_groups=1), "min_groups"),
        (lambda: fit_scaling([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], interval="bca"), "interval"),
        (lambda: compare_depth_laws([1, 2, 3, 4], [1.0, 2, 3, 4], law="power"), "law"),
        (lambda: bootstrap_ci([1.0, 2.0], confidence=1.5), "confidence"),
        (lambda: bootstrap_ci([1.0, np.nan]), "values"),
        (lambda: bootstrap_ci([1.0, 2.0], [0]), "groups"),
        (
            lambda: extrapolate_threshold_width(
                ScalingFit.known(1.0, 0.5, law="exponential"), ScalingFit.known(1.0, 0.0)
            ),
            "fit_lhs",
        ),
        (lambda: ScalingFit.known(1.0, 0.0, law="log"), "law"),
    ],
)
def test_bad_input_names_the_argument(call, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        call()
    assert info.value.argument == argument
