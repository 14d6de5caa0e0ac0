"""A user's entry and factory: everything the entry file says is checked before its module is
imported, and a model whose outputs are not finite is a recorded outcome, not a LAPACK error."""

import sys
from pathlib import Path

import pytest

from rscbench.errors import InvalidArgumentError
from rscbench.leaderboard.build import add_entry
from rscbench.run.execute import execute_task
from rscbench.run.specs import task_from_flat

ENTRY = 'name = "{name}"\nauthor = "a"\ndescription = "d"\n[model]\narch = "{arch}"\n'


def test_an_entry_is_checked_before_its_module_is_imported(tmp_path: Path) -> None:
    """The bug: `leaderboard add` imported an entry's module before validating the entry."""
    (tmp_path / "never_imported.py").write_text("raise SystemExit('imported')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        board = tmp_path / "board"
        (board / "entries").mkdir(parents=True)
        (board / "entries" / "taken.toml").write_text(ENTRY.format(name="taken", arch="paper_mlp"))
        entry = tmp_path / "entry.toml"
        entry.write_text(ENTRY.format(name="taken", arch="never_imported:factory"))
        with pytest.raises(InvalidArgumentError, match="a name not yet taken"):
            add_entry(entry, board)
        assert "never_imported" not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))


def test_a_model_with_nan_outputs_is_a_diverged_outcome() -> None:
    """The bug: a factory returning NaN failed every task with a LAPACK error."""
    spec = task_from_flat(
        {
            "arch": "factories:nan_outputs",
            "n": 8,
            "d": 3,
            "width": 4,
            "depth": 1,
            "probes": 2,
            "quantities": ["Q1"],
        }
    )
    record = execute_task(spec.canonical())
    assert record["status"] == "diverged", record["message"]
    assert "not finite: 8 NaN and 0 infinite of 8" in record["message"]
    assert record["metrics"]["parameters"] == 4
