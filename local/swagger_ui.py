"""Swagger UI for the local stack's GET /docs, offline: swagger-ui-dist at the version the page pins
(telephony/openapi/swagger.py), fetched once from the npm registry into .vendor/, its tarball checked against the
integrity npm published for that version and each file against the subresource integrity the page pins. `make dev`
and `make test` install it; the local gateway serves it under /_local/npm/, where the page looks for it when the
stack sets DocsAssetsUrl (local/stack.py).

    python -m local.swagger_ui     # install unless it is installed
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

from local.template import ROOT
from telephony.openapi.swagger import ASSETS, PACKAGE, VERSION

REGISTRY = "https://registry.npmjs.org"
# `npm view swagger-ui-dist@<version> dist.integrity`: the registry's own hash of the published tarball
TARBALL_INTEGRITY = {
    "5.35.0": "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
}
FOLDER = ROOT / ".vendor" / f"{PACKAGE}@{VERSION}"
ROUTE = "/_local/npm/"  # the DocsAssetsUrl of the local stack
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

Reply = tuple[int, dict[str, str], bytes]


def integrity(data: bytes, algorithm: str = "sha384") -> str:
    """A subresource integrity value (`sha384-<base64>`), as browsers and npm write them."""
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def installed(folder: Path = FOLDER) -> bool:
    return all(
        (folder / name).is_file() and integrity((folder / name).read_bytes()) == sri for name, sri in ASSETS.items()
    )


def install(folder: Path = FOLDER) -> None:
    if installed(folder):
        return
    expected = TARBALL_INTEGRITY.get(VERSION)
    if expected is None:
        raise SystemExit(f"no tarball integrity pinned for {PACKAGE}@{VERSION} in local/swagger_ui.py")
    url = f"{REGISTRY}/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
    with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 - a fixed https URL  # nosec B310
        tarball = answer.read()
    if integrity(tarball, "sha512") != expected:
        raise SystemExit(f"{url} is not the tarball npm published for {PACKAGE}@{VERSION}: refused")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in (*ASSETS, "LICENSE", "NOTICE"):
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise SystemExit(f"{PACKAGE}@{VERSION} has no {name}")
            data = member.read()
            if name in ASSETS and integrity(data) != ASSETS[name]:
                raise SystemExit(f"{name} of {PACKAGE}@{VERSION} does not match the page's integrity: refused")
            (folder / name).write_bytes(data)


def serve(path: str, folder: Path = FOLDER) -> Reply | None:
    """A vendored file for the gateway (`/_local/npm/swagger-ui-dist@<version>/<file>`); None for anything else."""
    package, _, name = path.removeprefix(ROUTE).partition("/")
    if package != f"{PACKAGE}@{VERSION}" or name not in ASSETS or not (folder / name).is_file():
        return None
    headers = {"Content-Type": CONTENT_TYPES[Path(name).suffix], "Cache-Control": "public, max-age=31536000, immutable"}
    return 200, headers, (folder / name).read_bytes()


if __name__ == "__main__":
    install()
    print(f"{PACKAGE}@{VERSION} in {FOLDER.relative_to(ROOT)}", file=sys.stderr)
