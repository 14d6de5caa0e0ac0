"""Report folders: written under a hidden scratch name and renamed into place, never colliding, and
only complete, readable ones indexed; a stray file or a half-written report never breaks the index."""

import json
from pathlib import Path

from rscbench.report import complete_reports, update_index
from rscbench.report.folders import INCOMPLETE_PREFIX, place_folder, scratch_folder

REPORT = {
    "schema_version": 3,
    "created_at": "2026-01-01T00:00:00+00:00",
    "suite": {"name": "tiny"},
    "tasks": [],
    "verdicts": [
        {"id": "V1", "form": "V1", "aspect": "a", "subject": "s", "claim": "c", "status": "supported"}
    ],
    "fits": [],
}


def _report(run_dir: Path, name: str) -> Path:
    scratch = scratch_folder(run_dir, name)
    (scratch / "report.json").write_text(json.dumps(REPORT))
    return place_folder(scratch, run_dir, name)


def test_two_reports_of_one_second_get_two_folders(tmp_path: Path) -> None:
    """The bug: two reports of one run directory in the same second raised FileExistsError."""
    first = _report(tmp_path, "20260101T000000Z-abcdef12")
    second = _report(tmp_path, "20260101T000000Z-abcdef12")
    assert first.name == "20260101T000000Z-abcdef12" and second.name == "20260101T000000Z-abcdef12-2"
    assert [path.parent for path in complete_reports(tmp_path)] == [first, second]


def test_a_report_killed_midway_is_hidden_and_never_read(tmp_path: Path) -> None:
    """The bug: kill -9 in the report phase left a folder with a 0-byte report.json that was indexed."""
    scratch = scratch_folder(tmp_path / "reports" / "tiny", "20260101T000000Z-abcdef12")
    (scratch / "report.json").write_text("")  # killed here: never renamed
    assert scratch.name.startswith(INCOMPLETE_PREFIX)
    assert complete_reports(tmp_path / "reports" / "tiny") == []
    index = json.loads(update_index(tmp_path / "reports").read_text())
    assert index == {"reports": []}


def test_a_stray_file_or_a_damaged_report_never_breaks_the_index(tmp_path: Path) -> None:
    """The bug: a stray file under reports/ broke every later index update."""
    root = tmp_path / "reports"
    good = _report(root / "tiny", "20260101T000000Z-abcdef12")
    (root / "notes.txt").write_text("a stray file")
    (root / "tiny" / "stray.json").write_text("{")
    (root / "tiny" / "20250101T000000Z-old00000").mkdir()
    (root / "tiny" / "20250101T000000Z-old00000" / "report.json").write_text("")  # an older rscbench's
    index = json.loads(update_index(root).read_text())
    assert [entry["path"] for entry in index["reports"]] == [str(good.relative_to(root))]
    assert index["reports"][0]["verdicts"] == {"supported": 1}
