"""Cached AWS client factories: the only place clients are created, never at import time."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

_RETRIES: Any = {"mode": "standard", "max_attempts": 3}
_lock = threading.Lock()


@cache
def _session() -> Any:
    """One session for every client: a session per client loaded botocore's endpoints, retry and defaults data
    again for each (measured ~65 ms of a cold start per extra client; ~5 ms with a shared session)."""
    import boto3

    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    import boto3
    import botocore
    from botocore.config import Config

    # A fixed User-Agent: botocore otherwise rebuilds its structured one twice per request (sanitising every
    # component), measured at ~0.15-0.2 ms of the ~0.5 ms it spends on a GetItem client-side (ADR 0007's bench).
    user_agent = f"telephony-api Boto3/{boto3.__version__} botocore/{botocore.__version__}"  # type: ignore[attr-defined]
    config = Config(retries=_RETRIES, connect_timeout=3, read_timeout=10, tcp_keepalive=True, user_agent=user_agent)
    with _lock:  # a session is not safe to create clients from in several threads at once (the local stack)
        return _session().client(service, config=config)


def reset() -> None:
    """Forget the session and the clients (tests and benchmarks that change the environment)."""
    client.cache_clear()
    _session.cache_clear()


def dynamodb() -> Any:
    return client("dynamodb")


def stepfunctions() -> Any:
    return client("stepfunctions")


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
