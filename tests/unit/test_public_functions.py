"""The public functions that never talk to AWS (the OpenAPI document, Swagger UI) do not import its SDK: botocore
alone was ~180 ms of GET /openapi.json's cold start, for the four numbers of the rate-limit budgets. (Powertools
imports botocore's top package, ~1 ms, for its User-Agent hook; none of its modules.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys
import functions.{name}.app as app
event = {{"version": "2.0", "routeKey": "GET {path}", "rawPath": "{path}", "headers": {{}},
         "requestContext": {{"http": {{"method": "GET", "path": "{path}"}}, "requestId": "r1", "stage": "$default"}}}}
answer = app.lambda_handler(event, None)
aws = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "s3transfer") or m.startswith("botocore."))
print(json.dumps({{"status": answer["statusCode"], "aws": aws}}))
"""


def _served_by(name: str, path: str) -> dict:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]))
    child = _CHILD.format(name=name, path=path)
    done = subprocess.run(
        [sys.executable, "-c", child], env=environment, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("name", "path"), [("get_openapi", "/openapi.json"), ("get_docs", "/docs")])
def test_public_documents_are_served_without_the_aws_sdk(name: str, path: str) -> None:
    served = _served_by(name, path)
    assert served["status"] == 200
    assert served["aws"] == []
