"""The regime map (rscbench.report.plots.regime_map): which grid fields it puts on its axes, what a
cell shows when its tasks disagree, and why it is skipped."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "analysis"))
from synthetic_records import task

from rscbench.analysis.regimes import REGIME_LABELS
from rscbench.report.plots.regime_map import LABEL_COLOURS, MapAxes, map_axes, map_note, regime_map

CERTIFIED = {"metric.rsc_holds": True}
UNCERTIFIED = {"metric.rsc_holds": False}


def frame_of(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_width_goes_on_x_beside_the_field_that_varies_most() -> None:
    rows = [
        task("tanh", width, depth, seed, **CERTIFIED)
        for width in (64, 128)
        for depth in (1, 2, 3)
        for seed in (0, 1, 2, 3)
    ]
    assert map_axes(frame_of(rows)) == MapAxes("model.width", "model.depth")
    sigma = [task("tanh", 64, 2, 0, **{"spec.model.sigma1": s} | CERTIFIED) for s in (0.5, 1.0, 2.0)]
    assert map_axes(frame_of(sigma)) == MapAxes("model.sigma1", None)  # the seed does not vary


def test_the_seed_is_an_axis_only_where_fewer_than_two_grid_fields_vary() -> None:
    rows = [task("tanh", width, 2, seed, **CERTIFIED) for width in (64, 128) for seed in (0, 1, 2)]
    assert map_axes(frame_of(rows)) == MapAxes("model.width", "seed")


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([], "no task to map"),
        ([task("tanh", 64, 2, 0, **CERTIFIED), task("relu", 64, 2, 0, **CERTIFIED)], "nothing varies"),
        (
            [task("tanh", w, 2, 0, **{"metric.predictor_hessian_max": 0.1}) for w in (64, 128)],
            "no task measured",
        ),
    ],
)
def test_nothing_to_map_gives_no_figure_and_its_reason(rows, reason) -> None:
    frame = frame_of(rows) if rows else pd.DataFrame(columns=["task_id", "status"])
    assert map_axes(frame).x is None and reason in map_axes(frame).reason
    assert regime_map(frame) is None
    assert map_note(frame).startswith(f"No regime map: {reason}")


def _cells(ax) -> np.ma.MaskedArray:
    (mesh,) = ax.collections
    return mesh.get_array()


def test_a_cell_shows_its_majority_and_how_many_measured_tasks_differ() -> None:
    """Width 64: two of three seeds certified, one not (1/3 differ); an unmeasured Q1 task in the same
    cell does not vote. Width 128: all uncertified. Width 256 and depth 3 (relu only): empty tanh cells."""
    tanh = [task("tanh", 64, 2, seed, **(UNCERTIFIED if seed == 2 else CERTIFIED)) for seed in range(3)]
    tanh += [task("tanh", 64, 2, 9, **{"metric.predictor_hessian_max": 0.1})]
    tanh += [task("tanh", 128, 2, seed, **UNCERTIFIED) for seed in range(3)]
    relu = [task("relu", 256, 3, seed, **CERTIFIED) for seed in range(3)]
    fig = regime_map(frame_of(tanh + relu))
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.collections]
    assert [ax.get_title() for ax in panels] == ["relu (control)", "tanh"]
    cells = _cells(panels[1])
    index = {label: REGIME_LABELS.index(label) for label in REGIME_LABELS}
    assert cells[0, 0] == index["certified-at-init"] and cells[0, 1] == index["uncertified"]
    assert cells.shape == (2, 3) and cells.mask[0, 2] and cells.mask[1].all()  # rows: depths 2, 3
    assert [text.get_text() for text in panels[1].texts] == ["1/3"]
    assert [text.get_text() for text in panels[0].texts] == []
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == ["certified-at-init", "uncertified", "unmeasured"]
    assert [tick.get_text() for tick in panels[1].get_xticklabels()] == ["64", "128", "256"]
    positions = panels[1].get_xticks()
    assert np.allclose(np.diff(positions), 1.0)  # log2 of 64, 128, 256


def test_a_tie_goes_to_the_label_first_in_precedence() -> None:
    rows = [task("tanh", 64, 2, 0, **CERTIFIED), task("tanh", 64, 2, 1, **UNCERTIFIED)]
    rows += [task("tanh", 128, 3, 0, **UNCERTIFIED)]  # depth varies: the seeds share a cell
    fig = regime_map(frame_of(rows))
    assert _cells(fig.axes[0])[0, 0] == REGIME_LABELS.index("certified-at-init")
    assert [text.get_text() for text in fig.axes[0].texts] == ["1/2"]


def test_every_label_has_its_own_colour() -> None:
    assert list(LABEL_COLOURS) == list(REGIME_LABELS)
    assert len(set(LABEL_COLOURS.values())) == len(REGIME_LABELS)


def test_tasks_without_an_activation_share_one_panel() -> None:
    rows = [task("tanh", width, 2, seed, **CERTIFIED) for width in (64, 128) for seed in (0, 1)]
    fig = regime_map(frame_of(rows).drop(columns=["spec.model.activation"]))
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["all tasks"]
