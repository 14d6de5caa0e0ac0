"""benchmarks/asv_offline_html.py: the page rewrite and the tarball checks without a network, then
the published site of the toy repository in headless Chromium, before and after vendoring."""

import io
import sys
import tarfile
from pathlib import Path

import asv
import pytest
from asv_harness import load_script
from browser import recorded_page, serve_directory

offline = load_script("asv_offline_html")

ASV_INDEX = Path(asv.__file__).parent / "www" / "index.html"
ERROR_TEXT = "external (JavaScript) dependencies of airspeed velocity failed to load"


def test_asv_template_loads_only_vendored_files_after_the_rewrite():
    original = ASV_INDEX.read_text(encoding="utf-8")
    assert len(offline.external_loads(original)) == len(offline.ASSETS)
    rewritten = offline.rewrite_page(original)
    assert offline.external_loads(rewritten) == []
    for asset in offline.ASSETS:
        assert f'"vendor/{asset.target}"' in rewritten
    assert "integrity=" not in rewritten and "crossorigin=" not in rewritten
    assert 'href="https://github.com/airspeed-velocity/asv/"' in rewritten  # a link, not a load


def test_unknown_external_asset_is_reported():
    page = (
        '<script src="https://cdn.example.invalid/new.js"></script><a href="https://example.invalid/">x</a>'
    )
    assert offline.external_loads(offline.rewrite_page(page)) == ["https://cdn.example.invalid/new.js"]


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def test_tarball_is_verified_cached_and_reused(tmp_path):
    data = _tarball({"package/x.js": b"x"})
    package = offline.NpmPackage("toy", "1.0.0", offline.integrity_of(data))
    registry_root = tmp_path / "registry"
    (registry_root / "toy" / "-").mkdir(parents=True)
    (registry_root / "toy" / "-" / package.filename).write_bytes(data)
    cache = tmp_path / "cache"
    with serve_directory(registry_root) as registry:
        assert offline.fetch_tarball(package, cache, registry) == data
    # served no more: the verified copy in the cache is used
    assert offline.fetch_tarball(package, cache, "http://127.0.0.1:9") == data


def test_tampered_tarball_is_refused(tmp_path):
    data = _tarball({"package/x.js": b"x"})
    package = offline.NpmPackage("toy", "1.0.0", offline.integrity_of(data))
    registry_root = tmp_path / "registry"
    (registry_root / "toy" / "-").mkdir(parents=True)
    (registry_root / "toy" / "-" / package.filename).write_bytes(_tarball({"package/x.js": b"evil"}))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / package.filename).write_bytes(b"corrupt")  # a damaged cache entry is not trusted either
    with serve_directory(registry_root) as registry, pytest.raises(offline.VendoringError, match="integrity"):
        offline.fetch_tarball(package, cache, registry)
    assert (cache / package.filename).read_bytes() == b"corrupt"


def test_site_without_index_is_refused(tmp_path):
    with pytest.raises(offline.VendoringError, match="asv publish"):
        offline.make_offline(tmp_path, tmp_path / "cache")


def _published_site(toy_repo) -> Path:
    done = toy_repo.run(
        sys.executable, "-m", "asv", "run", "--machine", toy_repo.machine, "--skip-existing", "ALL"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    done = toy_repo.run(sys.executable, "-m", "asv", "publish")
    assert done.returncode == 0, done.stdout + done.stderr
    return toy_repo.path / ".asv" / "html"


@pytest.mark.slow
def test_published_site_renders_offline(toy_repo, tmp_path):
    site = _published_site(toy_repo)
    with serve_directory(site) as base, recorded_page() as before:
        before.page.goto(base, wait_until="networkidle")
        assert ERROR_TEXT in before.page.inner_text("body")  # as published, it needs the CDNs
        assert before.external_requests

    try:
        offline.make_offline(site, tmp_path / "npm")
    except offline.VendoringError as error:
        if "cannot download" in str(error):
            pytest.skip(f"the npm registry is not reachable: {error}")
        raise

    with serve_directory(site) as base, recorded_page() as after:
        page = after.page
        page.goto(base, wait_until="networkidle")
        assert ERROR_TEXT not in page.inner_text("body")
        grid = page.locator("#summarygrid-display .benchmark-container")
        assert grid.count() == 2  # toy.Toy.time_work and toy.Toy.track_metric
        page.goto(base + "#toy.Toy.time_work", wait_until="networkidle")
        page.wait_for_selector("#main-graph canvas.flot-base", state="attached", timeout=10_000)
        assert "toy.Toy.time_work" in page.inner_text("body")
        assert after.external_requests == []
        assert after.console_errors == []
        assert any("/vendor/jquery.min.js" in url for url in after.requests)
