"""Runs the project's real Lambda handlers in this process, as `sam local invoke` would in a container."""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from local.template import Function, Stack


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.deadline - time.time()) * 1000), 0)


class Runtime:
    """Functions of the template by logical id, physical name or ARN, invoked in-process."""

    def __init__(self, stack: Stack) -> None:
        self.functions = stack.functions()
        self._by_name = {f.name: f for f in self.functions.values()}
        self._by_name.update({f.arn: f for f in self.functions.values()})
        self._handlers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def function(self, key: str) -> Function:
        if key in self.functions:
            return self.functions[key]
        name = key.split(":function:", 1)[-1].split(":", 1)[0] if ":function:" in key else key
        return self._by_name[name]

    def handler(self, function: Function) -> Any:
        with self._lock:
            if function.logical_id not in self._handlers:
                module = importlib.import_module(function.module)
                self._handlers[function.logical_id] = getattr(module, function.attribute)
            return self._handlers[function.logical_id]

    def invoke(self, key: str, event: Any) -> Any:
        from local import iam

        function = self.function(key)
        context = LambdaContext(function.name, function.arn, str(uuid.uuid4()), deadline=time.time() + 29)
        with iam.acting_as(function.logical_id):
            return self.handler(function)(event, context)


def patch_moto_lambda(runtime: Runtime) -> None:
    """Make moto's Docker-less Lambda backend run our handlers, so Step Functions tasks are real.

    A raised exception becomes a function error whose errorType is the exception's class name,
    which is what the ASL's Retry/Catch match, as on AWS.
    """
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body) if body else {}
        try:
            result = runtime.invoke(function_name, event)
        except Exception as exc:  # every error is reported to the caller, as Lambda does
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        return json.dumps(result).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
