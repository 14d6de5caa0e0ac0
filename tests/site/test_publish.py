"""rscbench publish: the static site's files, and the site driven in headless Chromium from disk and over
HTTP: sorting by a click, the rows read back, and no request leaving the machine."""

import json
import math
import re

import pytest
from browser import recorded_page, serve_directory

from rscbench.leaderboard.build import read_scores
from rscbench.site.publish import publish_site

STEPS_COLUMN = "median steps to target"


@pytest.fixture(scope="module")
def site(built, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("site")
    broken = built["reports"] / "tiny" / "99990101T000000Z-newer000"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "report.json").write_text(json.dumps({"schema_version": 999}))
    published = publish_site(out, reports_root=built["reports"], leaderboard_folder=built["folder"])
    return {"published": published, "out": out, "scores": read_scores(built["folder"])}


def test_site_files_pages_and_downloads(site) -> None:
    out, published = site["out"], site["published"]
    assert published.index == out / "index.html" and len(published.pages) == 4
    assert len(published.skipped) == 1 and "schema_version" in published.skipped[0]
    for name in ("leaderboard.csv", "leaderboard.md", "leaderboard.tex", "scores.json"):
        assert (out / "downloads" / name).stat().st_size > 0
    report = published.pages[3]
    for name in ("index.html", "report.json", "results.csv", "verdicts.csv", "report.md", "verdicts.tex"):
        assert (report.parent / name).is_file(), name
    assert list((report.parent / "plots").glob("*.png"))
    regimes = re.search(r'<table[^>]*id="regimes".*?</table>', report.read_text(), re.S)
    assert regimes and "<th" in regimes.group(0) and "<td" in regimes.group(0)
    for page in out.rglob("*.html"):
        text = page.read_text()
        references = re.findall(r'(?:src|href)="([^"]+)"', text)
        remote = [r for r in references if re.match(r"[a-z]+:", r) and not r.startswith("data:")]
        assert references and not remote, page
        assert "fetch(" not in text and "XMLHttpRequest" not in text


def expected_order(scores: dict, key, reverse: bool = False) -> list[str]:
    """Entry names sorted by ``key`` (None: empty, always last), ties in rank order."""
    entries = sorted(scores["entries"], key=lambda e: e["rank"])
    present = [e for e in entries if key(e) is not None]
    missing = [e for e in entries if key(e) is None]
    return [e["name"] for e in sorted(present, key=key, reverse=reverse)] + [e["name"] for e in missing]


def steps(entry: dict) -> float | None:
    value = entry["median_steps_to_target"]
    return value if value is not None else (math.inf if entry["gd_runs"] else None)


def rows(page) -> list[str]:
    return page.locator("#leaderboard tbody tr td:nth-child(2)").all_inner_texts()


def check_leaderboard(recorded, url: str, scores: dict) -> None:
    page = recorded.page
    page.goto(url)
    assert rows(page) == [e["name"] for e in sorted(scores["entries"], key=lambda e: e["rank"])]
    assert page.locator("#leaderboard-version").inner_text() == scores["version"]
    header = page.locator("#leaderboard thead th", has_text=STEPS_COLUMN)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert rows(page) == expected_order(scores, steps)
    header.locator("button").click()
    assert rows(page) == expected_order(scores, steps, reverse=True)
    page.locator("#leaderboard thead th", has_text="entry").locator("button").click()
    assert rows(page) == sorted(e["name"] for e in scores["entries"])
    page.locator("nav a", has_text="Reports").click()
    page.wait_for_url("**/reports.html")
    page.locator("#reports tbody a").first.click()
    page.wait_for_url("**/reports/tiny/*/index.html")
    images = page.locator("figure img")
    assert images.count() > 0
    assert all(
        page.evaluate("img => img.naturalWidth", images.nth(i).element_handle()) > 0
        for i in range(images.count())
    )
    page.locator("nav a", has_text="History").click()
    page.wait_for_url("**/history.html")
    assert page.locator("svg.chart").count() > 0 and page.locator("table.sortable tbody tr").count() > 0
    assert recorded.external_requests == [] and recorded.console_errors == []
    assert len(recorded.requests) > 5


def test_leaderboard_sorts_in_chromium_from_disk(site) -> None:
    with recorded_page() as recorded:
        check_leaderboard(recorded, (site["out"] / "index.html").as_uri(), site["scores"])
        assert all(url.startswith("file://") for url in recorded.requests)


def test_leaderboard_sorts_in_chromium_over_http(site) -> None:
    with serve_directory(site["out"]) as base, recorded_page() as recorded:
        check_leaderboard(recorded, base + "index.html", site["scores"])
        assert all(url.startswith(base) for url in recorded.requests)
