"""Which top-level modules a function can import on Lambda: the layer's requirements (and the
function's own, if it has any) with their dependencies, the runtime's boto3 with its own, the
standard library and the project's code.

This development venv holds much more (moto, httpx, pytest...). Code that probes for optional
packages (the X-Ray SDK's `patch_all` imports and patches httpx, requests... when present) would
do work in a cold start here that it never does on Lambda, so the cold-start processes refuse
every other top-level import while the function runs.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LAYER_REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
PROJECT = {"telephony", "functions", "bench"}
RUNTIME = ["boto3", "snapshot-restore-py"]  # what the python3.12 runtime ships (SnapStart hooks), with dependencies


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _top_level(distribution: metadata.Distribution) -> set[str]:
    names = set((distribution.read_text("top_level.txt") or "").split())
    for file in distribution.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".data")) or first in ("..", "bin", "__pycache__"):
            continue
        if len(file.parts) == 1:
            if file.suffix in (".py", ".so", ".pyd"):
                names.add(file.name.split(".")[0])
        else:
            names.add(first)
    return {n for n in names if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)}


def distributions(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """The installed closure of these requirements (with the extras they ask for), by normalised name."""
    found: dict[str, metadata.Distribution] = {}
    extras_done: dict[str, set[str]] = {}
    pending = [(r, set(r.extras)) for r in requirements]
    while pending:
        requirement, extras = pending.pop()
        key = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if key in extras_done and extras <= extras_done[key]:
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        found[key] = distribution
        extras_done[key] = extras_done.get(key, set()) | extras
        for raw in distribution.requires or []:
            dependency = Requirement(raw)
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in (extras_done[key] or {""})
            ):
                pending.append((dependency, set(dependency.extras)))
    return found


def allowed_modules(folder: str | None = None) -> list[str]:
    """For one function: its own `functions/<folder>/requirements.txt` too (the authorizer's cryptography)."""
    own = ROOT / "functions" / folder / "requirements.txt" if folder else None
    extra = _requirements(own) if own is not None and own.exists() else []
    closure = distributions([*_requirements(LAYER_REQUIREMENTS), *extra, *(Requirement(r) for r in RUNTIME)])
    names = set(PROJECT) | set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    for distribution in closure.values():
        names |= _top_level(distribution)
    return sorted(names)


def only_for_other_functions(folder: str | None) -> list[str]:
    """Top-level modules some function's own requirements bring (the authorizer's cryptography) that this one
    cannot import on Lambda. moto imports some of them in the benchmark's process before the first event; the
    cold-start child hides them again so a probing import (PyJWT looks for cryptography) fails as on Lambda."""
    mine = set(allowed_modules(folder))
    others: set[str] = set()
    for requirements in (ROOT / "functions").glob("*/requirements.txt"):
        others |= set(allowed_modules(requirements.parent.name))
    return sorted(others - mine)
