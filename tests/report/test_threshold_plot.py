"""The init-certificate threshold figure (rscbench.report.plots.threshold) on records with a known m*."""

from __future__ import annotations

import pandas as pd
from analysis.synthetic_records import certificate_rows

from rscbench.report.plots import build_figures
from rscbench.report.plots.threshold import certificate_threshold

WIDE = (256, 512, 1024, 2048, 4096, 8192, 16384, 32768)


def _legend(fig) -> list[str]:
    return [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]


def test_the_figure_shows_m_star_its_ci_the_observed_crossing_and_the_theorem_threshold() -> None:
    # GN = 1e-3 flat, -lambda_min(R) = 0.1 m^-1/2: m* = 1e4, certified from 16384 on
    records = certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5, widths=WIDE)
    for row in records:
        row["metric.theorem_width_threshold"] = 7.2e7
    fig = certificate_threshold(pd.DataFrame(records), seed=0)
    texts = _legend(fig)
    (m_star,) = [text for text in texts if text.startswith("m* = ")]
    assert 8e3 < float(m_star.split()[2].rstrip(",")) < 1.2e4 and "95% CI [" in m_star
    assert "observed crossing 16384" in texts
    assert "laws fitted on widths <= 1024, extrapolated" in texts
    # 7.2e7 is more than 1000x beyond the widest width: named, not drawn
    assert "theorem's threshold 7.2e+07 (beyond the axis)" in texts
    (ax,) = [ax for ax in fig.axes if ax.get_visible()]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlim()[1] <= 32768 * 1e3


def test_without_a_crossing_or_certificate_data_the_figure_says_so_or_is_absent() -> None:
    short = certificate_rows(lambda m: 1e-3, lambda m: 0.1 * m**-0.5, widths=(256, 512, 1024))
    assert "no crossing up to width 1024" in _legend(certificate_threshold(pd.DataFrame(short)))
    assert certificate_threshold(pd.DataFrame([{"status": "ok", "spec.model.width": 64}])) is None
    assert "certificate_threshold" in build_figures(pd.DataFrame(short), pd.DataFrame())
