"""`rscbench publish --out DIR`: the static results site, from the built leaderboard and every report found.

Layout of DIR: ``index.html`` (the leaderboard), ``reports.html`` (every report), ``history.html``
(main metrics across commits), ``reports/<suite>/<report>/index.html`` (one page per report with
its plots and downloads), ``downloads/`` (the leaderboard as CSV, Markdown, LaTeX and JSON) and
``assets/`` (the stylesheet and the sorting script shipped with rscbench). Pages hold their data in
the markup and load nothing from the network, so the site works opened from disk or from any plain
file server. Reports are read with rscbench.report.load_report (older schemas migrated); one that
cannot be read is skipped and named in ``skipped``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.leaderboard.build import SCORES_FILE, read_scores
from rscbench.report.schema import load_report
from rscbench.site.history import history_page
from rscbench.site.html import Cell, escape, page, sortable_table
from rscbench.site.leaderboard_page import LEADERBOARD_DOWNLOADS, leaderboard_page
from rscbench.site.report_page import PublishedReport, write_report_page

__all__ = ["PublishedSite", "find_reports", "publish_site"]

ASSETS = ("site.js", "style.css")


@dataclass(frozen=True)
class PublishedSite:
    """A written site: its ``folder``, the ``index`` page, every page written and the reports ``skipped``."""

    folder: Path
    index: Path
    pages: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def find_reports(reports_root: Path) -> tuple[list[PublishedReport], list[str]]:
    """Every ``<suite>/<report>/report.json`` under ``reports_root`` that loads, and the ones that do not
    (with the reason)."""
    found, skipped = [], []
    if not reports_root.is_dir():
        return found, skipped
    for path in sorted(reports_root.glob("*/*/report.json")):
        try:
            document = load_report(path)
        except RscbenchError as error:
            skipped.append(f"{path}: {error}")
            continue
        found.append(PublishedReport(str(path.parent.relative_to(reports_root)), path.parent, document))
    return found, skipped


def _reports_page(reports: list[PublishedReport]) -> str:
    rows = []
    for report in sorted(reports, key=lambda r: r.document.get("created_at") or "", reverse=True):
        counts: dict[str, int] = {}
        for verdict in report.document.get("verdicts", []):
            counts[verdict["status"]] = counts.get(verdict["status"], 0) + 1
        rows.append(
            [
                Cell(
                    f'<a href="reports/{escape(report.path)}/index.html">{escape(report.path)}</a>',
                    report.path,
                ),
                Cell(escape(report.document.get("suite", {}).get("name"))),
                Cell(escape(report.document.get("created_at"))),
                Cell(f"<code>{escape(report.commit_label)}</code>"),
                Cell(str(counts.get("supported", 0)), counts.get("supported", 0), "num"),
                Cell(str(counts.get("not supported", 0)), counts.get("not supported", 0), "num"),
                Cell(str(counts.get("inconclusive", 0)), counts.get("inconclusive", 0), "num"),
            ]
        )
    columns = ["report", "suite", "created (UTC)", "commit", "supported", "not supported", "inconclusive"]
    table = sortable_table("reports", columns, rows) if rows else "<p>No report found.</p>"
    return page("Reports", f"<p>Every report found, newest first.</p>{table}", root="")


def publish_site(
    out: str | Path, *, reports_root: str | Path = "reports", leaderboard_folder: str | Path = "leaderboard"
) -> PublishedSite:
    """Write the site into ``out`` (created; pages and files of a previous publish are replaced).

    ``leaderboard_folder`` without a scores.json gives a front page saying no leaderboard is built;
    ``reports_root`` without reports gives empty report and history pages. Raises
    InvalidArgumentError when ``out`` is not a writable folder.
    """
    out, reports_root, leaderboard_folder = Path(out), Path(reports_root), Path(leaderboard_folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "assets").mkdir(exist_ok=True)
    except OSError as error:
        raise InvalidArgumentError("--out", str(out), f"a writable folder ({error.strerror})") from None
    for name in ASSETS:
        (out / "assets" / name).write_text(
            (resources.files("rscbench") / "site" / "assets" / name).read_text()
        )
    scores = read_scores(leaderboard_folder) if (leaderboard_folder / SCORES_FILE).is_file() else None
    if scores is not None:
        (out / "downloads").mkdir(exist_ok=True)
        for name in LEADERBOARD_DOWNLOADS:
            shutil.copyfile(leaderboard_folder / name, out / "downloads" / name)
    reports, skipped = find_reports(reports_root)
    pages = [out / "index.html", out / "reports.html", out / "history.html"]
    pages[0].write_text(leaderboard_page(scores))
    pages[1].write_text(_reports_page(reports))
    pages[2].write_text(history_page(reports))
    if (out / "reports").exists():
        shutil.rmtree(out / "reports")
    for report in reports:
        pages.append(write_report_page(report, out / "reports" / report.path, root="../../.."))
    return PublishedSite(out, pages[0], pages, skipped)
