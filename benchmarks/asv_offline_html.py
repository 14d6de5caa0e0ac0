"""Make the site of ``asv publish`` render offline: vendor its web assets from the npm registry.

Usage: python benchmarks/asv_offline_html.py [--html-dir .asv/html] [--cache-dir .asv/npm]
       [--registry https://registry.npmjs.org]

asv's index.html loads jQuery, flot (and three of its plugins, plus orderBars), stupidtable,
blueimp-md5 and bootstrap from CDNs, and shows only an error page when they fail to load. This
script downloads the npm tarballs of those packages (pinned versions, each checked against its
pinned sha512 integrity; kept in ``--cache-dir``, a git-ignored folder, and reused), copies the
files the page needs into ``<html-dir>/vendor/`` and rewrites every HTML page of the site to load
them from there, without the CDN's integrity, crossorigin and referrerpolicy attributes (npm
ships flot unminified and stupidtable as ``stupid-table-plugin`` 1.1.3, so those files differ from
the CDN's; the tarball integrity is the check). It fails if a page still loads anything from
another host afterwards (a newer asv with other assets): plain ``<a href>`` links are not loads.

Run it after every ``asv publish``, which rewrites index.html.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import re
import sys
import tarfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org"
DOWNLOAD_TIMEOUT_S = 60
DROPPED_ATTRIBUTES = ("integrity", "crossorigin", "referrerpolicy")


@dataclass(frozen=True)
class NpmPackage:
    """One pinned npm tarball and its sha512 integrity (as in package-lock.json)."""

    name: str
    version: str
    integrity: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tgz"


@dataclass(frozen=True)
class Asset:
    """A CDN URL of asv's page, the npm file that replaces it and its path under ``vendor/``."""

    url: str
    package: NpmPackage
    member: str
    target: str


JQUERY = NpmPackage(
    "jquery",
    "3.3.1",
    "sha512-Ubldcmxp5np52/ENotGxlLe6aGMvmF4R8S6tZjsP6Knsaxd/xp3Zrh50cG93lR6nPXyUFwzN3ZSOQI0wRJNdGg==",
)
FLOT = NpmPackage(
    "flot",
    "0.8.3",
    "sha512-xg2otcTJDvS+ERK+my4wxG/ASq90QURXtoM4LhacCq0jQW2jbyjdttbRNqU2cPykrpMvJ6b2uSp6SAgYAzj9tQ==",
)
ORDERBARS = NpmPackage(
    "flot-orderbars",
    "1.0.0",
    "sha512-Jv51fvzevUjNXEeozpwEKfPjhiZhfiJddv0WHjduUTCmSF+7T5K7C9c9Y1wIVmUhDBv5fLMjgbwKecT0GIKPZA==",
)
STUPIDTABLE = NpmPackage(
    "stupid-table-plugin",
    "1.1.3",
    "sha512-2Vk7XouQPxUQPRe9w0Fu7ZZ8kHLK7rDoLMsCgtKxRNJ7f4dSOGvW9CkHsq5wD6QsaEnWoyLBYH3xOEsrK3yWBg==",
)
MD5 = NpmPackage(
    "blueimp-md5",
    "2.19.0",
    "sha512-DRQrD6gJyy8FbiE4s+bDoXS9hiW3Vbx5uCdwvcCf3zLHL+Iv7LtGHLpr+GZV8rHG8tK766FGYBwRbu8pELTt+w==",
)
BOOTSTRAP = NpmPackage(
    "bootstrap",
    "3.1.1",
    "sha512-TAzqS8E/ISpVHP29gYhy+1NSV+FJwApDVQhDfgLYsIuUDJiqJzH2DfORN5tiu+Ie2iBLrzEG34t4Rf465cigqg==",
)
BOOTSTRAP_FONTS = ("package/dist/fonts/", "fonts/")
"""bootstrap.min.css loads its glyph fonts from ../fonts/ relative to css/."""

_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
_JSDELIVR = "https://cdn.jsdelivr.net/npm"
ASSETS = (
    Asset(
        "https://code.jquery.com/jquery-3.3.1.min.js", JQUERY, "package/dist/jquery.min.js", "jquery.min.js"
    ),
    Asset(f"{_CDNJS}/flot/0.8.3/jquery.flot.min.js", FLOT, "package/jquery.flot.js", "jquery.flot.js"),
    Asset(
        f"{_CDNJS}/flot/0.8.3/jquery.flot.time.min.js",
        FLOT,
        "package/jquery.flot.time.js",
        "jquery.flot.time.js",
    ),
    Asset(
        f"{_CDNJS}/flot/0.8.3/jquery.flot.selection.min.js",
        FLOT,
        "package/jquery.flot.selection.js",
        "jquery.flot.selection.js",
    ),
    Asset(
        f"{_CDNJS}/flot/0.8.3/jquery.flot.categories.min.js",
        FLOT,
        "package/jquery.flot.categories.js",
        "jquery.flot.categories.js",
    ),
    Asset(
        f"{_JSDELIVR}/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js",
        ORDERBARS,
        "package/js/jquery.flot.orderBars.js",
        "jquery.flot.orderBars.js",
    ),
    Asset(
        f"{_CDNJS}/stupidtable/1.0.1/stupidtable.min.js",
        STUPIDTABLE,
        "package/stupidtable.min.js",
        "stupidtable.min.js",
    ),
    Asset(f"{_CDNJS}/blueimp-md5/2.19.0/js/md5.min.js", MD5, "package/js/md5.min.js", "md5.min.js"),
    Asset(
        f"{_JSDELIVR}/bootstrap@3.1.1/dist/js/bootstrap.min.js",
        BOOTSTRAP,
        "package/dist/js/bootstrap.min.js",
        "bootstrap.min.js",
    ),
    Asset(
        f"{_JSDELIVR}/bootstrap@3.1.1/dist/css/bootstrap.min.css",
        BOOTSTRAP,
        "package/dist/css/bootstrap.min.css",
        "css/bootstrap.min.css",
    ),
)

_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_LOADED_URL = re.compile(r"\b(?:src|href)\s*=\s*[\"']((?:https?:)?//[^\"']+)[\"']", re.IGNORECASE)


class VendoringError(RuntimeError):
    """An asset could not be fetched or verified, or a page still loads something from another host."""


def integrity_of(data: bytes) -> str:
    """The Subresource-Integrity string of ``data`` with sha512, as npm records tarballs."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_tarball(package: NpmPackage, cache_dir: Path, registry: str = DEFAULT_REGISTRY) -> bytes:
    """The verified tarball of ``package``: from ``cache_dir`` when it is there and intact, else downloaded.

    Raises VendoringError when the download fails or the bytes do not match the pinned integrity.
    """
    cached = cache_dir / package.filename
    if cached.is_file():
        data = cached.read_bytes()
        if integrity_of(data) == package.integrity:
            return data
    url = f"{registry.rstrip('/')}/{package.name}/-/{package.filename}"
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data = response.read()
    except OSError as error:
        raise VendoringError(f"cannot download {url}: {error}") from error
    found = integrity_of(data)
    if found != package.integrity:
        raise VendoringError(f"{url}: integrity {found} does not match the pinned {package.integrity}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def _members(tarball: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        return {
            member.name: archive.extractfile(member).read()
            for member in archive.getmembers()
            if member.isfile()
        }


def install_assets(vendor_dir: Path, cache_dir: Path, registry: str = DEFAULT_REGISTRY) -> list[Path]:
    """Write every asset (and bootstrap's fonts) under ``vendor_dir``; returns the files written."""
    files: dict[NpmPackage, dict[str, bytes]] = {}
    for package in dict.fromkeys(asset.package for asset in ASSETS):
        files[package] = _members(fetch_tarball(package, cache_dir, registry))
    wanted = [(asset.package, asset.member, asset.target) for asset in ASSETS]
    source, target = BOOTSTRAP_FONTS
    wanted += [
        (BOOTSTRAP, name, target + name.removeprefix(source))
        for name in files[BOOTSTRAP]
        if name.startswith(source)
    ]
    written = []
    for package, member, relative in wanted:
        if member not in files[package]:
            raise VendoringError(f"{package.filename} has no {member}")
        path = vendor_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[package][member])
        written.append(path)
    return written


def rewrite_page(html: str) -> str:
    """``html`` with every known CDN asset loaded from ``vendor/`` and its SRI attributes dropped."""
    by_url = {asset.url: asset for asset in ASSETS}

    def local(match: re.Match) -> str:
        tag = match.group(0)
        urls = [url for url in _LOADED_URL.findall(tag) if url in by_url]
        if not urls:
            return tag
        for url in urls:
            tag = tag.replace(url, "vendor/" + by_url[url].target)
        for attribute in DROPPED_ATTRIBUTES:
            tag = re.sub(rf"\s+{attribute}\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", "", tag, flags=re.IGNORECASE)
        return tag

    return _TAG.sub(local, html)


def external_loads(html: str) -> list[str]:
    """URLs on other hosts that ``<script>`` or ``<link>`` tags of ``html`` would load (links excluded)."""
    return [url for tag in _TAG.findall(html) for url in _LOADED_URL.findall(tag)]


def make_offline(html_dir: Path, cache_dir: Path, registry: str = DEFAULT_REGISTRY) -> list[Path]:
    """Vendor the assets into ``html_dir/vendor`` and rewrite its HTML pages; returns the pages rewritten.

    Raises VendoringError when ``html_dir`` has no index.html (run ``asv publish`` first), when an
    asset cannot be fetched or verified, or when a page still loads anything from another host.
    """
    pages = sorted(html_dir.glob("*.html"))
    if not (html_dir / "index.html").is_file():
        raise VendoringError(f"{html_dir} has no index.html; run `asv publish` first")
    install_assets(html_dir / "vendor", cache_dir, registry)
    for page in pages:
        text = rewrite_page(page.read_text(encoding="utf-8"))
        remaining = external_loads(text)
        if remaining:
            raise VendoringError(f"{page} still loads from other hosts: {', '.join(remaining)}")
        page.write_text(text, encoding="utf-8")
    return pages


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: vendor the assets of an ``asv publish`` site; exit 1 with one line on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html-dir", type=Path, default=Path(".asv/html"), help="asv's html_dir")
    parser.add_argument("--cache-dir", type=Path, default=Path(".asv/npm"), help="where tarballs are kept")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help="npm registry base URL")
    args = parser.parse_args(argv)
    try:
        pages = make_offline(args.html_dir, args.cache_dir, args.registry)
    except VendoringError as error:
        print(f"asv_offline_html: {error}", file=sys.stderr)
        return 1
    print(f"asv_offline_html: {len(pages)} page(s) in {args.html_dir} now load only local files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
