"""Logger, and the decorator every Lambda entry point wears."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_logger: Any = None


def logger() -> Any:
    """The process-wide Powertools logger, created on first use (it reads the environment)."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger()
    return _logger


def _request_id(event: Any, context: Any) -> str:
    if isinstance(event, dict):
        rid = (event.get("requestContext") or {}).get("requestId")
        if rid:
            return str(rid)
        if event.get("request_id"):
            return str(event["request_id"])
    return str(getattr(context, "aws_request_id", "") or "")


def observed(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Logger context (request id as correlation id on every line) around a Lambda handler."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        log = logger()
        log.set_correlation_id(_request_id(event, context))
        log.append_keys(function_name=getattr(context, "function_name", None))
        try:
            return handler(event, context)
        finally:
            log.remove_keys(["function_name"])
            log.set_correlation_id(None)

    return wrapper
