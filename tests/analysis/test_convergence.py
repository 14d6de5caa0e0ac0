"""The two-phase fit of a GD loss curve, the PL/NTK descent rate, and m* over width windows, on
synthetic curves and data with a known answer."""

import math

import numpy as np
import pytest

from rscbench.analysis.convergence import pl_descent_rate, two_phase_fit
from rscbench.analysis.thresholds import extrapolate_threshold_width, threshold_width_over_windows


def fast_drop_then_geometric(steps: int = 200, drop: int = 8, rate: float = 0.985, noise: float = 0.0):
    """The real trajectories' shape: ~100x down in ``drop`` steps, then L_t ~ rate^t."""
    t = np.arange(steps)
    early = np.exp(-math.log(100.0) * np.minimum(t, drop) / drop)
    late = rate ** np.maximum(t - drop, 0)
    generator = np.random.default_rng(0)
    return early * late * np.exp(generator.normal(0, noise, steps))


def test_two_phase_fit_finds_the_break_and_both_rates() -> None:
    fit = two_phase_fit(fast_drop_then_geometric())
    assert fit.fitted and abs(fit.breakpoint - 8) <= 1
    assert fit.late_rate == pytest.approx(0.985, abs=1e-6) and fit.late_r2 > 0.9999
    assert fit.early_rate == pytest.approx(100 ** (-1 / 8), rel=0.05)
    # one line through the whole curve misreads the same run
    t = np.arange(200)
    z = np.log(fast_drop_then_geometric())
    residual = z - np.polyval(np.polyfit(t, z, 1), t)
    assert 1 - residual.var() / z.var() < 0.95


def test_a_sublinear_tail_is_not_geometric() -> None:
    """L_t ~ 1/t^2 has no geometric tail: the late segment's R^2 stays below 0.95."""
    losses = 1.0 / (1.0 + np.arange(300)) ** 2
    fit = two_phase_fit(losses)
    assert fit.fitted and fit.late_r2 < 0.95


def test_two_phase_fit_refuses_what_it_cannot_fit() -> None:
    assert not two_phase_fit([1.0, 0.5, 0.2]).fitted
    broken = two_phase_fit([1.0, 0.5, math.nan, 0.1, 0.05, 0.01, 0.005])
    assert not broken.fitted and "finite" in broken.reason


def test_the_late_segment_spans_at_least_a_quarter() -> None:
    fit = two_phase_fit(fast_drop_then_geometric(steps=40, drop=35))
    assert fit.late_points >= 10


def test_pl_descent_rate() -> None:
    assert pl_descent_rate(0.02, 0.5, 1.0) == pytest.approx(1 - 0.02 / 1.0)
    assert pl_descent_rate(0.02, 0.5, 0.5) == pytest.approx(1 - 0.75 * 0.02 / 1.0)
    assert math.isnan(pl_descent_rate(math.nan, 0.5, 1.0))


def certificate_terms(widths, seeds=(0, 1, 2), noise=0.05, curve=0.0):
    """GN = 1e-3 m^{curve log(m/256)} (flat at curve=0), -lambda_min(R) = 0.1 m^-1/2: m* = 1e4 at curve=0."""
    generator = np.random.default_rng(4)
    rows = []
    for seed in seeds:
        for width in widths:
            gn = 1e-3 * width ** (curve * math.log(width / 256)) * math.exp(generator.normal(0, noise))
            rows.append((width, gn, 0.1 * width**-0.5 * math.exp(generator.normal(0, noise)), seed))
    return [np.array(column) for column in zip(*rows, strict=True)]


def test_m_star_ci_carries_the_width_window() -> None:
    widths, gn, minus_r, seeds = certificate_terms((64, 128, 256, 512, 1024))
    threshold, fit_gn, fit_r = threshold_width_over_windows(widths, gn, minus_r, seeds)
    assert threshold.conclusive and threshold.m_star == pytest.approx(1e4, rel=0.3)
    assert threshold.ci_low < 1e4 < threshold.ci_high
    assert len(threshold.windows) == 6  # windows of >= 3 of 5 widths: 3 + 2 + 1
    assert fit_gn.exponent == pytest.approx(0.0, abs=0.05) and fit_r.exponent == pytest.approx(-0.5, abs=0.05)
    # a GN term whose slope depends on the window (curved in log-log): the interval spans the windows'
    # m* and is wider than the seed-only interval of the fit on every width
    curved, gn_all, r_all = threshold_width_over_windows(
        *certificate_terms((64, 128, 256, 512, 1024), curve=0.04)
    )
    seed_only = extrapolate_threshold_width(gn_all, r_all)
    window_stars = [m for _, _, m in curved.windows]
    assert curved.ci_low <= min(window_stars) and max(window_stars) <= curved.ci_high
    assert curved.ci_high / curved.ci_low > 1.5 * seed_only.ci_high / seed_only.ci_low


def test_m_star_needs_three_widths() -> None:
    threshold, _, _ = threshold_width_over_windows(*certificate_terms((64, 128)))
    assert not threshold.conclusive and threshold.windows == ()
