"""AWS KMS: the webhooks' signing secrets, kept encrypted with the stack's key and read back only to sign."""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import cache

from telephony import aws
from telephony.config import settings
from telephony.errors import UpstreamUnavailable


def _unavailable(exc: Exception) -> UpstreamUnavailable:
    code = aws.error_code(exc) or type(exc).__name__
    return UpstreamUnavailable(
        "the key service is unavailable; retry shortly", details=[{"service": "kms", "code": code}]
    )


# A delivery signs with its webhook's secret, and a call's life makes several deliveries to the same webhook: a
# decrypted secret is kept this long in the execution environment, by its ciphertext and context (a rotated secret
# is a new ciphertext, so never served stale), so that KMS is asked once per webhook per environment in that time.
# A key disabled in KMS still signs from the cache until then.
PLAINTEXT_TTL_SECONDS = 300.0
PLAINTEXT_ENTRIES = 256


class Secrets:
    """Encrypts and decrypts with the stack's key, bound to a context (the webhook's id): a ciphertext copied to
    another webhook does not decrypt there."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._plaintexts: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def encrypt(self, plaintext: str, *, context: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = aws.client("kms").encrypt(
                KeyId=settings().require("webhook_key_id"),
                Plaintext=plaintext.encode(),
                EncryptionContext={"webhook_id": context},
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return base64.b64encode(answer["CiphertextBlob"]).decode()

    def decrypt(self, ciphertext: str, *, context: str) -> str:
        key = (ciphertext, context)
        with self._lock:
            kept = self._plaintexts.get(key)
            if kept is not None and self._clock() < kept[0]:
                return kept[1]
        plaintext = self._decrypt(ciphertext, context=context)
        with self._lock:
            self._plaintexts[key] = (self._clock() + PLAINTEXT_TTL_SECONDS, plaintext)
            self._plaintexts.move_to_end(key)
            while len(self._plaintexts) > PLAINTEXT_ENTRIES:
                self._plaintexts.popitem(last=False)
        return plaintext

    def _decrypt(self, ciphertext: str, *, context: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = aws.client("kms").decrypt(
                CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext={"webhook_id": context}
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return bytes(answer["Plaintext"]).decode()


@cache
def default() -> Secrets:
    return Secrets()
