"""Cached AWS client factories: the only place clients are created, never at import time.

Every client comes from one boto3 session per process, so botocore reads its endpoint and model data once
and the clients share one credential resolution.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from telephony import snapstart

# A session is not safe to create clients from in several threads at once; the local stack serves requests in
# threads. Clients themselves are.
_lock = threading.Lock()


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session()


@cache
def _config() -> Any:
    """Standard retries: throttling and transient errors retried with jitter, bounded by botocore's retry quota,
    so that a struggling service is not sent ever more requests. Connect and read timeouts of 3 and 10 seconds
    instead of botocore's 60: the functions have 29 seconds (API Gateway waits 30), and a request that hangs is
    better abandoned and tried again while the caller is still waiting."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)


@cache
def client(service: str) -> Any:
    with _lock:
        return _session().client(service, config=_config())


@cache
def s3() -> Any:
    """S3, signing with Signature Version 4 (presigned URLs then carry their expiry, and S3 refuses them after it)."""
    from botocore.config import Config

    with _lock:
        return _session().client("s3", config=_config().merge(Config(signature_version="s3v4")))


@snapstart.after_restore
def reset() -> None:
    """Forget the session and the clients: their credentials and connections. After a SnapStart restore, and in
    tests and benchmarks that change the environment."""
    client.cache_clear()
    s3.cache_clear()
    _session.cache_clear()


def dynamodb() -> Any:
    return client("dynamodb")


def stepfunctions() -> Any:
    return client("stepfunctions")


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
