"""rscbench publish never deletes what it did not write: an --out that is, holds or sits inside
--reports or --leaderboard is refused with nothing touched, and a second publish removes only the
files the first one listed."""

from pathlib import Path

import pytest

from rscbench.errors import InvalidArgumentError
from rscbench.site.publish import MANIFEST, publish_site


def _project(root: Path) -> tuple[Path, Path]:
    reports, leaderboard = root / "reports", root / "leaderboard"
    (reports / "tiny" / "20260101T000000Z-abc").mkdir(parents=True)
    (reports / "tiny" / "20260101T000000Z-abc" / "report.json").write_text("{}")
    (reports / "index.json").write_text("{}")
    leaderboard.mkdir()
    (leaderboard / "notes.md").write_text("kept")
    return reports, leaderboard


def _everything(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize(
    "out",
    [".", "reports", "reports/tiny", "reports/tiny/site", "leaderboard", "leaderboard/site"],
)
def test_an_out_that_is_holds_or_sits_in_an_input_is_refused_and_nothing_deleted(
    tmp_path: Path, monkeypatch, out: str
) -> None:
    """The bug: `publish --out .` removed ./reports and exited 0."""
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _everything(tmp_path)
    with pytest.raises(InvalidArgumentError, match="--out") as error:
        publish_site(out, reports_root="reports", leaderboard_folder="leaderboard")
    assert "not it, not inside it, not holding it" in str(error.value)
    assert _everything(tmp_path) == before


def test_a_folder_publish_did_not_write_is_refused(tmp_path: Path) -> None:
    reports, leaderboard = _project(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(InvalidArgumentError, match="a new or empty folder"):
        publish_site(mine, reports_root=reports, leaderboard_folder=leaderboard)
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_a_second_publish_removes_only_the_files_the_first_listed(tmp_path: Path) -> None:
    reports, leaderboard = tmp_path / "reports", tmp_path / "leaderboard"
    site = tmp_path / "site"
    first = publish_site(site, reports_root=reports, leaderboard_folder=leaderboard)
    assert first.index.is_file() and (site / MANIFEST).is_file()
    (site / "added-by-hand.txt").write_text("mine")
    stale = site / "assets" / "old.css"  # as if an older publish had listed it
    stale.write_text("old")
    manifest = (site / MANIFEST).read_text().replace('"files": [', '"files": [\n"assets/old.css",')
    (site / MANIFEST).write_text(manifest)
    publish_site(site, reports_root=reports, leaderboard_folder=leaderboard)
    assert (site / "added-by-hand.txt").read_text() == "mine"
    assert not stale.exists() and (site / "index.html").is_file()
    assert "added-by-hand.txt" not in (site / MANIFEST).read_text()
