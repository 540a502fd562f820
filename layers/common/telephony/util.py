"""Small helpers with no I/O: time and identifiers."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(now())


def epoch() -> int:
    return int(time.time())


_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case: unambiguous in URLs and logs


def derived_id(prefix: str, *parts: str) -> str:
    """An id that the same parts always give (26 characters, like new_id's, not sortable by time)."""
    import hashlib

    number = int.from_bytes(hashlib.sha256("\n".join(parts).encode()).digest()[:17])
    body = ""
    for _ in range(26):
        number, digit = divmod(number, 32)
        body += _ALPHABET[digit]
    return f"{prefix}_{body}"


def new_id(prefix: str) -> str:
    """A sortable id: 10 chars of millisecond time, then 16 random chars."""
    millis = int(time.time() * 1000)
    stamp = ""
    for _ in range(10):
        millis, digit = divmod(millis, 32)
        stamp = _ALPHABET[digit] + stamp
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return f"{prefix}_{stamp}{tail}"
