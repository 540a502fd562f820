"""Protobuf helpers the services share."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message


def clone[M: Message](msg: M) -> M:
    """A copy to hand out, so no caller holds a message the store keeps."""
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def duration_seconds(msg: Any, name: str) -> float | None:
    """A ``google.protobuf.Duration`` field in seconds, None when unset."""
    if not msg.HasField(name):
        return None
    d = getattr(msg, name)
    return float(d.seconds + d.nanos / 1e9)
