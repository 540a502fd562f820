"""Two differences between one Lambda process per event and the local stack's threads, evened out.

1. moto's DynamoDB under concurrency.

DynamoDB applies the writes to one item one at a time, so a conditional update and a transaction
on the same item never interleave. moto checks a condition and then mutates the item without a
lock, so two threads (the gateway's and a Step Functions task's) can interleave and both
"succeed". The local stack and the tests run many threads, so every DynamoDB call is serialised
here, which is what the product relies on and what DynamoDB guarantees.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.RLock()
_applied = False


def serialise_dynamodb() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied = True


_per_thread = threading.local()
_PER_EVENT = ("current_event", "lambda_context")


class _PerThreadAttribute:
    """Read and written through the class or an instance, held per thread."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        return getattr(_per_thread, self.name, None)

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(_per_thread, self.name, value)


class _PerThreadContext:
    """A resolver's `context` dict (the route being served, extra keys), one per thread and resolver."""

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        contexts = _per_thread.__dict__.setdefault("contexts", {})
        return contexts.setdefault(id(instance), {})

    def __set__(self, instance: Any, value: Any) -> None:
        _per_thread.__dict__.setdefault("contexts", {})[id(instance)] = value


def per_thread_powertools_events() -> None:
    """Powertools keeps the event being resolved on its BaseRouter class: one event per process, which
    is all Lambda ever runs. The local stack runs many requests at once in threads, so that state is
    made per thread here; nothing else about the resolver changes."""
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if isinstance(BaseRouter.__dict__.get("current_event"), _PerThreadAttribute):
        return
    meta = type(BaseRouter)

    class PerThreadRouterMeta(meta):  # type: ignore[misc, valid-type]
        def __setattr__(cls, name: str, value: Any) -> None:
            if name in _PER_EVENT and cls is BaseRouter:
                setattr(_per_thread, name, value)
                return
            super().__setattr__(name, value)

    for name in _PER_EVENT:
        type.__setattr__(BaseRouter, name, _PerThreadAttribute(name))
    type.__setattr__(BaseRouter, "context", _PerThreadContext())
    BaseRouter.__class__ = PerThreadRouterMeta  # type: ignore[method-assign]
