"""The built layer's unzipped size (`sam build` output), what makes it up, and whether boto3 got bundled."""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement

from bench.lambda_path import LAYER_REQUIREMENTS, ROOT, _requirements, distributions

LAYER = ROOT / ".aws-sam" / "build" / "CommonLayer" / "python"
SOURCES = ROOT / "layers" / "common"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")  # the python3.12 runtime ships these


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Package:
    name: str
    version: str
    size: int
    pulled_in_by: list[str] = field(default_factory=list)


@dataclass
class PackageResult:
    path: Path
    total: int
    packages: list[Package]
    bundled_runtime: list[str]  # boto3 / botocore / s3transfer found in the layer
    stale: list[str]  # why the build did not match the sources when it was read
    rebuilt: bool
    functions_with_dependencies: dict[str, int] = field(default_factory=dict)  # build folder -> bytes
    bytecode: int = 0  # bytes of .pyc (make build compiles the layer: Lambda cannot write a cache there)


def _functions_with_dependencies() -> dict[str, int]:
    """Functions that bundle packages of their own (functions/<folder>/requirements.txt), by build size."""
    found = {}
    for requirements in sorted((ROOT / "functions").glob("*/requirements.txt")):
        folder = requirements.parent.name
        for built in (ROOT / ".aws-sam" / "build").glob("*Function"):
            if (built / "requirements.txt").exists() and (built / "app.py").read_bytes() == (
                requirements.parent / "app.py"
            ).read_bytes():
                found[f"{built.name} (functions/{folder})"] = sum(
                    p.stat().st_size for p in built.rglob("*") if p.is_file()
                )
    return found


def _stale(layer: Path) -> list[str]:
    reasons = []
    installed = {}
    for info in layer.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        installed[_key(name)] = version
    for requirement in _requirements(LAYER_REQUIREMENTS):
        pins = [s.version for s in requirement.specifier if s.operator == "=="]
        have = installed.get(_key(requirement.name))
        if have is None:
            reasons.append(f"{requirement.name} is not in the build")
        elif pins and have != pins[0]:
            reasons.append(f"{requirement.name} {have} in the build, {pins[0]} required")
    for source in (SOURCES / "telephony").rglob("*.py"):
        built = layer / source.relative_to(SOURCES)
        if (
            not built.exists()
            or hashlib.sha256(built.read_bytes()).digest() != hashlib.sha256(source.read_bytes()).digest()
        ):
            reasons.append(f"{source.relative_to(ROOT)} differs from the build")
            break
    if not any((layer / "telephony" / "__pycache__").glob("*.pyc")):
        reasons.append("the build holds no bytecode (`make build` compiles it after `sam build`)")
    return reasons


def _sizes(layer: Path) -> tuple[int, int, dict[str, tuple[str, int]]]:
    """Total bytes, bytes of bytecode, and bytes per distribution (from each RECORD; other files under their top
    folder)."""
    sizes: dict[Path, int] = {p: p.stat().st_size for p in layer.rglob("*") if p.is_file()}
    owner: dict[Path, str] = {}
    versions: dict[str, str] = {}
    for info in layer.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        versions[_key(name)] = version
        record = info / "RECORD"
        if record.exists():
            for row in csv.reader(record.read_text().splitlines()):
                if row:
                    owner[(layer / row[0]).resolve()] = _key(name)
        for file in info.rglob("*"):
            owner[file.resolve()] = _key(name)
    per: dict[str, tuple[str, int]] = {}
    for path, size in sizes.items():
        name = (
            owner.get(path.resolve())
            or owner.get(_source_of(path))
            or f"{path.relative_to(layer).parts[0]} (not from a wheel)"
        )
        version, total = per.get(name, (versions.get(name, ""), 0))
        per[name] = (version, total + size)
    bytecode = sum(size for path, size in sizes.items() if path.suffix == ".pyc")
    return sum(sizes.values()), bytecode, per


def _source_of(path: Path) -> Path:
    """`pkg/__pycache__/mod.cpython-312.pyc` -> `pkg/mod.py` (bytecode counts to the distribution of its source)."""
    if path.parent.name != "__pycache__":
        return path
    return (path.parent.parent / (path.name.split(".", 1)[0] + ".py")).resolve()


def _pulled_in_by() -> dict[str, list[str]]:
    """For every distribution, the lines of layers/common/requirements.txt that bring it in."""
    found: dict[str, list[str]] = {}
    for requirement in _requirements(LAYER_REQUIREMENTS):
        for name in distributions([Requirement(str(requirement))]):
            found.setdefault(name, []).append(
                requirement.name + (f"[{','.join(requirement.extras)}]" if requirement.extras else "")
            )
    return found


def run(*, build_if_needed: bool, log: Callable[[str], None]) -> PackageResult | None:
    rebuilt = False
    stale = _stale(LAYER) if LAYER.exists() else ["not built"]
    if stale and build_if_needed:
        log(f"  the layer build is missing or stale ({stale[0]}): make build")
        subprocess.run(["make", "--no-print-directory", "build"], cwd=ROOT, check=True)
        rebuilt = True
        stale = _stale(LAYER)
    if not LAYER.exists():
        return None
    total, bytecode, per = _sizes(LAYER)
    pulled = _pulled_in_by()
    packages = sorted(
        (Package(name, version, size, pulled.get(name, [])) for name, (version, size) in per.items()),
        key=lambda p: -p.size,
    )
    bundled = [p.name for p in packages if p.name in RUNTIME_PROVIDED]
    bundled += [d for d in RUNTIME_PROVIDED if (LAYER / d).is_dir() and d not in bundled]
    return PackageResult(LAYER, total, packages, bundled, stale, rebuilt, _functions_with_dependencies(), bytecode)
