"""Where the X-Ray SDK is present, the handler's subsegment records no response (a new API key is answered in
clear), and still reaches the daemon."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import functions.get_docs.app as app
event = {"version": "2.0", "routeKey": "GET /docs", "rawPath": "/docs", "headers": {},
         "requestContext": {"http": {"method": "GET", "path": "/docs"}, "requestId": "r1", "stage": "$default"}}
print(app.lambda_handler(event, None)["statusCode"])
"""


def test_the_handler_subsegment_carries_no_response() -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(10)
    port = daemon.getsockname()[1]
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
        AWS_EXECUTION_ENV="AWS_Lambda_python3.12",
        AWS_LAMBDA_FUNCTION_NAME="GetDocs",
        LAMBDA_TASK_ROOT=str(ROOT),
        _X_AMZN_TRACE_ID="Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
        AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{port}",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
    )
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD], env=environment, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip().splitlines()[-1] == "200"
        datagram = daemon.recv(65536).decode()
    finally:
        daemon.close()
    segment = json.loads(datagram.split("\n", 1)[1])  # a header line, then the subsegment's JSON
    assert segment["name"] == "## lambda_handler"
    assert not any(key.endswith("response") for space in segment.get("metadata", {}).values() for key in space)
