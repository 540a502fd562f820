"""Writes the OpenAPI document GET /openapi.json serves (functions/get_openapi/openapi.json) from the routes every HTTP
function of template.yaml declares (docs/adr/0016-routes-declared-once.md). `make openapi` runs it; the test that
holds the document to the template fails when the committed file is not what this writes.

    python -m local.openapi [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.template import ROOT, Stack

DOCUMENT = ROOT / "functions" / "get_openapi" / "openapi.json"


def resolvers(stack: Stack | None = None) -> list[Any]:
    """The resolver (`app`) of every function the template routes HTTP requests to, in the template's order."""
    from local.runtime import load

    functions = (stack or Stack()).functions().values()
    return [load(function).app for function in functions if function.routes]


def document() -> dict[str, Any]:
    from telephony.openapi.document import build

    return build(resolvers())


def text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed document is not up to date")
    args = parser.parse_args(argv)
    written = text(document())
    path = Path(DOCUMENT)
    if args.check:
        if not path.exists() or path.read_text() != written:
            print(f"{path.relative_to(ROOT)} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    path.write_text(written)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
