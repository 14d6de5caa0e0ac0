"""Headless-Chromium helpers for tests of published pages: a loopback file server and a page that
records every request and refuses any that would leave the machine.

The browser is Debian's chromium (``/usr/bin/chromium``, installed by ``.ci/run`` when it can be)
driven through Playwright's Python client; tests that use these helpers are skipped, with the reason,
where either is missing.
"""

import functools
import http.server
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", ""})


def chromium_executable() -> str:
    """Path of the system Chromium, or skip the calling test saying what is missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium); it is not installed here")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output free of one access-log line per request."""


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on a free loopback port; yields the base URL (ending in '/')."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class RecordedPage:
    """A Playwright page plus every URL it asked for and the ones refused for leaving the machine."""

    page: object
    requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def _is_local(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in {"file", "data", "blob", "about"}:
        return True
    return parsed.scheme in {"http", "https"} and parsed.hostname in LOCAL_HOSTS


@contextmanager
def recorded_page(viewport: tuple[int, int] = (1400, 900)) -> Iterator[RecordedPage]:
    """A fresh headless Chromium page whose non-local requests are aborted and recorded."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="needs the playwright package (pip install playwright)"
    )
    executable = chromium_executable()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            recorded = RecordedPage(page)

            def route(route_handle: object) -> None:
                url = route_handle.request.url
                recorded.requests.append(url)
                if _is_local(url):
                    route_handle.continue_()
                else:
                    recorded.external_requests.append(url)
                    route_handle.abort()

            page.route("**/*", route)
            page.on(
                "console",
                lambda message: (
                    recorded.console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda exc: recorded.console_errors.append(str(exc)))
            yield recorded
        finally:
            browser.close()
