"""GET /docs's page and the Swagger UI files behind it: from a CDN, every file the page loads carries its
subresource integrity; offline (the local stack), the same files come from a copy vendored from the npm registry,
whose bytes are the ones those integrity values pin."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest

from local import swagger_ui
from telephony.openapi import swagger

CDN = "https://cdn.jsdelivr.net/npm"


def _assets(page: str) -> list[dict[str, str]]:
    """The attributes of every <script src> and <link href> of the page."""
    tags = re.findall(r"<(?:script|link)\b([^>]*)>", page)
    found = [dict(re.findall(r'(\w+)="([^"]*)"', tag)) for tag in tags]
    return [attrs for attrs in found if "src" in attrs or "href" in attrs]


def test_every_file_the_page_loads_from_a_cdn_has_its_integrity():
    assets = _assets(swagger.page("Telephony API", CDN))
    assert {a.get("src") or a.get("href") for a in assets} == {
        f"{CDN}/swagger-ui-dist@{swagger.VERSION}/{name}" for name in swagger.ASSETS
    }
    for attrs in assets:
        name = (attrs.get("src") or attrs["href"]).rsplit("/", 1)[-1]
        assert attrs["integrity"] == swagger.ASSETS[name]
        assert attrs["crossorigin"] == "anonymous"


def test_the_pinned_integrity_is_that_of_the_vendored_package():
    assert swagger_ui.installed(), "Swagger UI is not vendored: run `make vendor`"
    for name, pinned in swagger.ASSETS.items():
        assert swagger_ui.integrity((swagger_ui.FOLDER / name).read_bytes()) == pinned


def test_the_gateway_serves_the_vendored_files_and_nothing_else():
    status, headers, body = swagger_ui.serve(f"/_local/npm/swagger-ui-dist@{swagger.VERSION}/swagger-ui-bundle.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert swagger_ui.integrity(body) == swagger.ASSETS["swagger-ui-bundle.js"]
    for path in (
        f"/_local/npm/swagger-ui-dist@{swagger.VERSION}/LICENSE",
        f"/_local/npm/swagger-ui-dist@{swagger.VERSION}/../../template.yaml",
        "/_local/npm/swagger-ui-dist@0.0.1/swagger-ui.css",
        "/_local/npm/other@1.0.0/swagger-ui.css",
    ):
        assert swagger_ui.serve(path) is None, path


def _tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


class _Answer(io.BytesIO):
    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.mark.parametrize("tampered", ["tarball", "file"])
def test_a_package_that_is_not_the_published_one_is_refused(tmp_path: Path, monkeypatch, tampered: str):
    files = {name: (swagger_ui.FOLDER / name).read_bytes() for name in swagger.ASSETS}
    files.update(LICENSE=b"license", NOTICE=b"notice")
    if tampered == "file":
        files["swagger-ui-bundle.js"] += b"\n// one more line"
    tarball = _tarball(files)
    published = swagger_ui.integrity(tarball, "sha512") if tampered == "file" else "sha512-not-this-one"
    monkeypatch.setitem(swagger_ui.TARBALL_INTEGRITY, swagger.VERSION, published)
    monkeypatch.setattr(swagger_ui.urllib.request, "urlopen", lambda url, timeout: _Answer(tarball))
    with pytest.raises(SystemExit, match="refused"):
        swagger_ui.install(tmp_path)
    assert not swagger_ui.installed(tmp_path)
