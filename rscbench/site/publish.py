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

import contextlib
import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.leaderboard.build import SCORES_FILE, read_scores
from rscbench.report import complete_reports, load_report
from rscbench.site.history import history_page
from rscbench.site.html import Cell, escape, page, sortable_table
from rscbench.site.leaderboard_page import LEADERBOARD_DOWNLOADS, leaderboard_page
from rscbench.site.report_page import PublishedReport, write_report_page
from rscbench.validation import writable_folder

__all__ = ["MANIFEST", "PublishedSite", "find_reports", "publish_site"]

ASSETS = ("site.js", "style.css")
MANIFEST = ".rscbench-site.json"
"""The file in a published site listing every file that publish wrote: the next publish deletes
those, and only those."""


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
    suites = sorted(p for p in reports_root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for path in (report for suite in suites for report in complete_reports(suite)):
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


def _check_out(out: Path, reports_root: Path, leaderboard_folder: Path) -> None:
    """Refuse an ``out`` that is, holds or sits inside the reports or the leaderboard folder, a system
    folder, one this user may not write, or a non-empty folder publish did not write."""
    here = out.resolve()
    for flag, folder in (("--reports", reports_root), ("--leaderboard", leaderboard_folder)):
        other = folder.resolve()
        if here == other or here in other.parents or other in here.parents:
            raise InvalidArgumentError(
                "--out",
                str(out),
                f"a folder apart from {flag} {folder} (not it, not inside it, not holding it): "
                "publish replaces what it wrote in --out",
            )
    writable_folder("--out", out)
    if not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise InvalidArgumentError(
            "--out", str(out), f"a new or empty folder, or one a publish wrote (holding {MANIFEST})"
        )


def _files(out: Path) -> set[str]:
    return {str(path.relative_to(out)) for path in out.rglob("*") if path.is_file() or path.is_symlink()}


def _remove_previous(out: Path) -> None:
    """Delete the files the previous publish listed in its manifest (nothing else), then the folders
    it left empty."""
    manifest = out / MANIFEST
    if not manifest.is_file():
        return
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise InvalidArgumentError(
            "--out", str(out), f"a folder whose {MANIFEST} lists the files a publish wrote (it does not read)"
        ) from None
    root = out.resolve()
    folders = set()
    for name in listed:
        path = out / str(name)
        if root not in path.resolve().parents or not (path.is_file() or path.is_symlink()):
            continue  # never outside out, never a folder
        path.unlink()
        folders.update(parent for parent in path.parents if root in parent.resolve().parents)
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):  # only an empty folder goes
            folder.rmdir()
    manifest.unlink()


def publish_site(
    out: str | Path, *, reports_root: str | Path = "reports", leaderboard_folder: str | Path = "leaderboard"
) -> PublishedSite:
    """Write the site into ``out`` and list every file written in ``out``/.rscbench-site.json.

    ``out`` must be apart from ``reports_root`` and ``leaderboard_folder`` (not one of them, inside
    one, or holding one), not a system folder, writable, and new, empty or written by an earlier
    publish; then the files that publish listed are deleted (and nothing else: a file someone
    added stays) before the new ones are written. ``leaderboard_folder`` without a scores.json gives
    a front page saying no leaderboard is built; ``reports_root`` without reports gives empty report
    and history pages. Raises InvalidArgumentError naming what is wrong with ``out``.
    """
    out, reports_root, leaderboard_folder = Path(out), Path(reports_root), Path(leaderboard_folder)
    _check_out(out, reports_root, leaderboard_folder)
    scores = read_scores(leaderboard_folder) if (leaderboard_folder / SCORES_FILE).is_file() else None
    reports, skipped = find_reports(reports_root)
    _remove_previous(out)
    before = _files(out)
    (out / "assets").mkdir(exist_ok=True)
    for name in ASSETS:
        (out / "assets" / name).write_text(
            (resources.files("rscbench") / "site" / "assets" / name).read_text()
        )
    if scores is not None:
        (out / "downloads").mkdir(exist_ok=True)
        for name in LEADERBOARD_DOWNLOADS:
            shutil.copyfile(leaderboard_folder / name, out / "downloads" / name)
    pages = [out / "index.html", out / "reports.html", out / "history.html"]
    pages[0].write_text(leaderboard_page(scores))
    pages[1].write_text(_reports_page(reports))
    pages[2].write_text(history_page(reports))
    for report in reports:
        pages.append(write_report_page(report, out / "reports" / report.path, root="../../.."))
    written = sorted(_files(out) - before)
    (out / MANIFEST).write_text(json.dumps({"files": written}, indent=0) + "\n", encoding="utf-8")
    return PublishedSite(out, pages[0], pages, skipped)
