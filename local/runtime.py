"""Runs the project's real Lambda handlers in this process, as `sam local invoke` would in a container.

Lambda gives each execution environment one event at a time, and a function's module state (its resolver, which
holds the request it serves) belongs to that environment. So each function here is a pool of containers: an
invocation takes an idle one or loads a new one (the function's app.py executed into a module object of its own,
beside the shared layer, as a new environment would), and gives it back when it returns. Concurrent invocations of
one function never share a resolver, and races between them stay real races.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import ROOT, Function, Stack


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


def load(function: Function) -> ModuleType:
    """The function's handler module as a new execution environment has it: executed afresh, in a module object
    no other container shares (it is not registered in sys.modules; the layer's modules are)."""
    path = ROOT / Path(*function.module.split(".")).with_suffix(".py")
    spec = importlib.util.spec_from_file_location(function.module, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {function.logical_id} from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Container:
    """One execution environment of a function: its own module, serving one event at a time."""

    def __init__(self, function: Function) -> None:
        self.module = load(function)
        self.handler: Callable[[Any, Any], Any] = getattr(self.module, function.attribute)


class Runtime:
    """Functions of the template by logical id, physical name or ARN, invoked in-process."""

    def __init__(self, stack: Stack) -> None:
        self.functions = stack.functions()
        self._by_name = {f.name: f for f in self.functions.values()}
        self._by_name.update({f.arn: f for f in self.functions.values()})
        self._idle: dict[str, list[Container]] = {}
        self.loaded: dict[str, int] = {}  # containers made per function, for tests and the curious
        self._lock = threading.Lock()
        # One container loads at a time. Python refuses two threads importing modules that import each other
        # (Powertools' event handler does) with a deadlock error; a Lambda environment is a process of its own.
        self._loading = threading.Lock()

    def function(self, key: str) -> Function:
        if key in self.functions:
            return self.functions[key]
        name = key.split(":function:", 1)[-1].split(":", 1)[0] if ":function:" in key else key
        return self._by_name[name]

    def _take(self, function: Function) -> Container:
        with self._lock:
            idle = self._idle.setdefault(function.logical_id, [])
            if idle:
                return idle.pop()
            self.loaded[function.logical_id] = self.loaded.get(function.logical_id, 0) + 1
        with self._loading:  # not under _lock: a load must not hold up invocations served by idle containers
            return Container(function)

    def _give_back(self, function: Function, container: Container) -> None:
        with self._lock:
            self._idle[function.logical_id].append(container)

    def run(self, function: Function, event: Any, context: Any) -> Any:
        container = self._take(function)
        try:
            return container.handler(event, context)
        finally:
            self._give_back(function, container)

    def handler(self, function: Function) -> Callable[[Any, Any], Any]:
        """The function's entry point as its callers see it: each call served by one of its containers."""

        def invoke(event: Any, context: Any) -> Any:
            return self.run(function, event, context)

        return invoke

    def invoke(self, key: str, event: Any) -> Any:
        from local import iam

        function = self.function(key)
        context = LambdaContext(function.name, function.arn, str(uuid.uuid4()), deadline=time.time() + 29)
        with iam.acting_as(function.logical_id):
            return self.run(function, event, context)


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
