"""The escapers every report and the leaderboard share: CSV cells a spreadsheet would run are
neutralized, Markdown and LaTeX text is literal, and a user's text in a plot title draws."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from matplotlib import pyplot as plt

from rscbench.report.escape import csv_safe, csv_text, latex_escape, markdown_cell
from rscbench.report.plots.style import plain


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("-0.5", "-0.5"),
        ("-", "-"),
        ("tanh", "tanh"),
        (3, 3),
    ],
)
def test_csv_cells_that_would_run_as_formulas_get_an_apostrophe(cell, written) -> None:
    assert csv_text(cell) == written


def test_csv_safe_touches_text_columns_and_headers_only(tmp_path) -> None:
    """The bug: results.csv and leaderboard.csv wrote names like =HYPERLINK(...) raw."""
    frame = pd.DataFrame({"name": ["=1+1", "ok"], "value": [-1.5, 2.0], "=h": ["a", "b"]})
    safe = csv_safe(frame)
    assert list(safe["name"]) == ["'=1+1", "ok"] and list(safe["value"]) == [-1.5, 2.0]
    assert list(safe.columns) == ["name", "value", "'=h"] and list(frame["name"]) == ["=1+1", "ok"]


def test_markdown_text_is_literal_in_a_heading_or_a_cell() -> None:
    """The bug: report.md put the suite name raw in its heading."""
    assert markdown_cell("# [x](http://e) <b>*y*</b> |") == r"\# [x\](http://e) \<b\>\*y\*\</b\> \|"
    assert markdown_cell("g_bar [units]\nnext") == "g_bar [units] next"
    assert markdown_cell("_emph_") == r"\_emph\_"


def test_latex_text_is_literal_and_stays_on_one_line() -> None:
    assert latex_escape("a_b & 50%\n\nc") == r"a\_b \& 50\%  c"


def test_a_dataset_path_with_dollars_and_latex_specials_draws_in_a_title() -> None:
    """The bug: a dataset path with LaTeX specials crashed the report's plots after every task ran."""
    figure, axes = plt.subplots()
    axes.set_title(f"{plain('npz:/data/$x^2_{i}$ & 100%/$HOME.npz')} data")
    figure.canvas.draw()
    with pytest.raises(ValueError):  # the same text unescaped is mathtext that does not parse
        axes.set_title("npz:/data/$x^{$HOME.npz")
        figure.canvas.draw()
    plt.close(figure)
