"""Logger, metrics, tracing, and the decorator every Lambda entry point wears.

Everything is created on first use (each reads the environment), never at import time. Metrics
are CloudWatch EMF lines in the function's log, flushed at the end of every invocation.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import threading
from collections.abc import Callable
from typing import Any

NAMESPACE = "Telephony"

_logger: Any = None
_metrics: Any = None
_tracer: Any = None
# The keys of the invocation being served (request id, function name), for a logger made during it.
_invocation: dict[str, Any] = {}
# Powertools' metric set is one dict per process. Lambda serves one event at a time, but the local stack serves
# several in threads, and a flush must not iterate the set while another request adds to it.
_metrics_lock = threading.Lock()

# Values that must never reach a log line, whatever a caller passes as `extra`.
_SECRET_KEYS = re.compile(r"password|secret|authorization|api_key|token", re.IGNORECASE)
_SECRET_VALUES = re.compile(r"tpk_[A-Za-z0-9_-]{20,}|Bearer\s+\S+")


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEYS.search(str(k)) else _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUES.sub("***", value)
    return value


def logger() -> Any:
    """The process-wide Powertools logger (JSON, request id as correlation id, secrets masked).

    Made when something is first logged, not by every invocation. Made during an invocation, it takes that
    invocation's keys at once."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger
        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

        class MaskingFormatter(LambdaPowertoolsFormatter):
            def serialize(self, log: Any) -> str:
                return super().serialize(_masked(log))

        made = Logger(logger_formatter=MaskingFormatter())
        keys = dict(_invocation)  # one copy: the local stack's threads end invocations meanwhile
        if keys:
            _tag(made, keys.get("correlation_id"), keys.get("function_name"))
        _logger = made
    return _logger


def _tag(log: Any, correlation_id: str | None, function_name: str | None) -> None:
    log.set_correlation_id(correlation_id)
    log.append_keys(function_name=function_name)


def _untag(log: Any) -> None:
    log.remove_keys(["function_name"])
    log.set_correlation_id(None)


def metrics() -> Any:
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(namespace=NAMESPACE)
    return _metrics


def count(name: str, value: int = 1) -> None:
    """Add to a metric of this invocation (calls created, rate-limit hits, ...)."""
    from aws_lambda_powertools.metrics import MetricUnit

    with _metrics_lock:
        metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def _flush_metrics() -> None:
    if _metrics is None:
        return
    with _metrics_lock:
        if _metrics.metric_set:
            _metrics.flush_metrics()


def _tracing() -> Any:
    """X-Ray through Powertools Tracer, only inside Lambda with tracing on; the SDK is never imported elsewhere."""
    global _tracer
    if _tracer is None:
        if (
            not os.environ.get("AWS_EXECUTION_ENV")
            or os.environ.get("POWERTOOLS_TRACE_DISABLED") == "true"
            or not _xray_sdk_present()
        ):
            _tracer = False
        else:
            try:
                from aws_lambda_powertools import Tracer

                _tracer = Tracer()
            except ImportError:  # aws-xray-sdk not in the layer: Lambda's own active tracing still applies
                _tracer = False
    return _tracer


def _xray_sdk_present() -> bool:
    """Looked up without importing it, or Powertools: the layer does not ship the SDK (see its requirements)."""
    try:
        return importlib.util.find_spec("aws_xray_sdk") is not None
    except ImportError:  # a finder that refuses it outright (the benchmark's Lambda path)
        return False


def _request_id(event: Any, context: Any) -> str:
    if isinstance(event, dict):
        rid = (event.get("requestContext") or {}).get("requestId")
        if rid:
            return str(rid)
        if event.get("request_id"):
            return str(event["request_id"])
    return str(getattr(context, "aws_request_id", "") or "")


def observed(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Logger context (request id as correlation id on every line), metrics flushed, traced in Lambda."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        correlation_id, function_name = _request_id(event, context), getattr(context, "function_name", None)
        _invocation.update(correlation_id=correlation_id, function_name=function_name)
        if _logger is not None:
            _tag(_logger, correlation_id, function_name)
        tracer = _tracing()
        # never the response as trace metadata: it can hold a new API key in clear (and the OpenAPI document is
        # larger than the 64 KB UDP datagram the X-Ray daemon takes); errors are still recorded
        run = tracer.capture_lambda_handler(handler, capture_response=False) if tracer else handler
        try:
            return run(event, context)
        finally:
            _flush_metrics()
            _invocation.clear()
            if _logger is not None:
                _untag(_logger)

    return wrapper
