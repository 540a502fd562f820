"""AWS KMS: the webhooks' signing secrets, kept encrypted with the stack's key and read back only to sign."""

from __future__ import annotations

import base64
from functools import cache

from telephony import aws
from telephony.config import settings
from telephony.errors import UpstreamUnavailable


def _unavailable(exc: Exception) -> UpstreamUnavailable:
    code = aws.error_code(exc) or type(exc).__name__
    return UpstreamUnavailable(
        "the key service is unavailable; retry shortly", details=[{"service": "kms", "code": code}]
    )


class Secrets:
    """Encrypts and decrypts with the stack's key, bound to a context (the webhook's id): a ciphertext copied to
    another webhook does not decrypt there."""

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
