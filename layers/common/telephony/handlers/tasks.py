"""Step Functions task entry points: parse the input, call the service, return plain data.

Exceptions leave by class name, which the ASL's Retry/Catch match; a dependency that is
unavailable becomes `TransientError`, which every task retries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from telephony.errors import TransientError, UpstreamUnavailable


def run_task[M: BaseModel](model: type[M], event: dict[str, Any], work: Callable[[M], Any]) -> dict[str, Any]:
    payload = model.model_validate(event)
    try:
        result = work(payload)
    except UpstreamUnavailable as unavailable:
        raise TransientError(unavailable.message) from unavailable
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result or {}
