"""Standard Webhooks v1 signatures (docs/adr/0020-account-webhooks.md), as receivers' Standard Webhooks libraries check.

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded bytes. The signed content is
`{webhook-id}.{webhook-timestamp}.{body}` with the body exactly as sent. While a rotated secret overlaps the new one,
each secret signs and the header carries both signatures, space-separated, so a receiver holding either verifies.
Pure functions: no I/O, no clock (the caller passes the attempt's timestamp).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
from collections.abc import Sequence

PREFIX = "whsec_"  # of every signing secret: receivers' libraries strip it
KEY_BYTES = 32
VERSION = "v1"


def new_secret() -> str:
    """A new signing secret: shown to the customer once, at creation or rotation."""
    return PREFIX + base64.b64encode(_random.token_bytes(KEY_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    """The HMAC key a secret stands for. A malformed secret is a bug of ours (we make them all), never input."""
    if not secret.startswith(PREFIX):
        raise ValueError(f"a signing secret starts with {PREFIX}")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing secret is whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a signing secret may not be empty")
    return key


def _check_id(message_id: str) -> None:
    # The id goes into a header and into the signed content, whose parts are separated by dots; an id that could
    # break a header line (or is empty) is refused rather than sent in a form the receiver cannot reproduce.
    if not message_id or not message_id.isascii() or not message_id.isprintable() or " " in message_id:
        raise ValueError("a webhook id is non-empty printable ASCII without spaces")


def sign(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC-SHA256>` for each secret, space-separated."""
    if isinstance(secrets, str):
        raise TypeError("secrets is a list of secrets, not one secret")
    if not secrets:
        raise ValueError("at least one secret signs")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("the timestamp is whole unix seconds")
    _check_id(message_id)
    content = f"{message_id}.{timestamp}.".encode() + body
    signatures = []
    for secret in secrets:
        digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
        signatures.append(f"{VERSION},{base64.b64encode(digest).decode('ascii')}")
    return " ".join(signatures)


def headers(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt: the same id on every retry, the attempt's own timestamp."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, message_id, timestamp, body),
        "Content-Type": "application/json",
    }
