"""AWS Secrets Manager: the LiveKit API credentials, and the SIP passwords we must keep but never show."""

from __future__ import annotations

import json
from typing import Any

from telephony import aws
from telephony.errors import UpstreamUnavailable

_MISSING = {"ResourceNotFoundException"}


def _unavailable(exc: Exception) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        "the secret store is unavailable; retry shortly", details=[{"service": "secretsmanager"}]
    )


def read_json(secret_id: str) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable(exc) from exc
    return dict(json.loads(value))


def write_json(name: str, value: dict[str, Any]) -> str:
    """Create the secret, or give it a new version; returns its ARN."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = aws.client("secretsmanager")
    text = json.dumps(value)
    try:
        try:
            return str(client.create_secret(Name=name, SecretString=text)["ARN"])
        except ClientError as exc:
            if aws.error_code(exc) != "ResourceExistsException":
                raise
            return str(client.put_secret_value(SecretId=name, SecretString=text)["ARN"])
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable(exc) from exc


def delete(secret_id: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        aws.client("secretsmanager").delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
    except ClientError as exc:
        if aws.error_code(exc) not in _MISSING:
            raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc
