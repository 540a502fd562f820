"""The entry-point decorator: Powertools is imported only when something is logged or counted, and a logger made
in the middle of an invocation still tags its lines with that invocation's request id and function name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter each: whether Powertools is imported is a fact about one process. The X-Ray SDK is made
# unimportable, as it is on Lambda (the layer does not ship it; this venv has it for moto's server).
_CHILD = """
import json, sys
sys.modules["aws_xray_sdk"] = None
from telephony import observability

class Context:
    function_name = "ListCalls"
    aws_request_id = "lambda-id"

@observability.observed
def quiet(event, context):
    return {"statusCode": 200}

@observability.observed
def talkative(event, context):
    observability.logger().info("inside", extra={"step": 1})
    return {"statusCode": 200}

handler = {"quiet": quiet, "talkative": talkative}[sys.argv[1]]
event = {"requestContext": {"requestId": "req-1"}}
handler(event, Context())
loaded_after_first = "aws_lambda_powertools" in sys.modules
handler({"requestContext": {"requestId": "req-2"}}, Context())
if loaded_after_first:
    observability.logger().info("between")  # outside any invocation: no request's keys
print(json.dumps({"powertools": loaded_after_first}))
"""


def _run(which: str) -> tuple[dict[str, bool], list[dict[str, object]]]:
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
        AWS_EXECUTION_ENV="AWS_Lambda_python3.12",  # tracing would be on, were the SDK present
        POWERTOOLS_SERVICE_NAME="telephony",
        POWERTOOLS_LOG_LEVEL="INFO",
    )
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, which], env=environment, capture_output=True, text=True, check=True, cwd=ROOT
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return lines[-1], lines[:-1]


def test_an_invocation_that_logs_nothing_never_imports_powertools() -> None:
    result, logs = _run("quiet")
    assert result == {"powertools": False}
    assert logs == []


def test_a_logger_made_during_an_invocation_carries_its_keys_and_drops_them_after() -> None:
    result, logs = _run("talkative")
    assert result == {"powertools": True}
    first, second, between = logs
    assert (first["message"], first["correlation_id"], first["function_name"], first["step"]) == (
        "inside",
        "req-1",
        "ListCalls",
        1,
    )
    assert (second["correlation_id"], second["function_name"]) == ("req-2", "ListCalls")
    assert between["message"] == "between"
    assert between.get("correlation_id") is None
    assert "function_name" not in between
