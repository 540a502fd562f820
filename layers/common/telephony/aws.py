"""Cached AWS client factories: the only place clients are created, never at import time."""

from __future__ import annotations

from functools import cache
from typing import Any

_RETRIES: Any = {"mode": "standard", "max_attempts": 3}


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries=_RETRIES, connect_timeout=3, read_timeout=10, tcp_keepalive=True)
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


def dynamodb() -> Any:
    return client("dynamodb")


def stepfunctions() -> Any:
    return client("stepfunctions")


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
