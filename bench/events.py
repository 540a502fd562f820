"""Realistic Lambda events, built by the local gateway itself (local/gateway.py) so they cannot drift from it.

The gateway is given a runtime that records what it would invoke instead of invoking it: the
API Gateway v2 event (routeKey, rawPath, lowered headers, requestContext with the authorizer's
context) and, for the authorizer, its REQUEST event. The authorizer's answer is the principal
the benchmark chooses, exactly as the real authorizer would return it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from local.gateway import Gateway
from local.template import Stack


@dataclass(frozen=True)
class Principal:
    """The authorizer's context for a caller (what `Principal.to_context()` gives)."""

    user_id: str
    role: str = "user"
    key_id: str | None = None

    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = {"user_id": self.user_id, "role": self.role, "auth_type": "api_key"}
        if self.key_id:
            context["key_id"] = self.key_id
        return context

    @property
    def bearer(self) -> str:
        return f"Bearer tpk_bench_{self.key_id or self.user_id}"


def user(user_id: str, *, key: str | None = None) -> Principal:
    return Principal(user_id, "user", key or f"ak_{user_id}")


def admin(user_id: str = "usr_bench_admin") -> Principal:
    return Principal(user_id, "admin", f"ak_{user_id}")


@dataclass
class Invocation:
    function: str  # logical id
    event: dict[str, Any]


class _Recorder:
    """Stands in for local.runtime.Runtime: records the invocation instead of running a handler."""

    def __init__(self, stack: Stack) -> None:
        self.functions = stack.functions()
        self.local = threading.local()

    def invoke(self, key: str, event: Any) -> Any:
        if event.get("type") == "REQUEST":  # the authorizer
            self.local.authorizer_event = event
            return {"isAuthorized": True, "context": self.local.principal.context()}
        self.local.invocation = Invocation(key, event)
        return {"statusCode": 204, "headers": {}, "body": ""}


class EventFactory:
    def __init__(self, stack: Stack) -> None:
        self._recorder = _Recorder(stack)
        self._gateway = Gateway(stack, self._recorder)  # type: ignore[arg-type]

    def http(
        self,
        method: str,
        path: str,
        *,
        principal: Principal | None = None,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Invocation:
        """The event the gateway hands the function serving `method path` (path with its ids filled in)."""
        sent = {"host": "127.0.0.1:3000", "user-agent": "bench/1.0", **(headers or {})}
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent.setdefault("content-type", "application/json")
        if principal is not None:
            sent.setdefault("authorization", principal.bearer)
        self._gateway._cache.clear()  # the authorizer's answer is the principal given here, every time
        self._recorder.local.principal = principal
        self._recorder.local.invocation = None
        target = f"{path}?{urlencode(query)}" if query else path
        status, _, reply = self._gateway.handle(method, target, sent, data)
        invocation: Invocation | None = self._recorder.local.invocation
        if invocation is None:
            raise RuntimeError(f"the gateway did not route {method} {path}: {status} {reply[:200]!r}")
        return invocation

    def authorizer(self, authorization: str, path: str = "/outbound-calls/stats") -> Invocation:
        """The authorizer's REQUEST event for a request carrying this Authorization header (never cached)."""
        self.http("GET", path, principal=Principal("usr_placeholder"), headers={"authorization": authorization})
        spec = self._gateway.authorizer
        if spec is None:
            raise RuntimeError("template.yaml has no default authorizer")
        return Invocation(spec.function, self._recorder.local.authorizer_event)
