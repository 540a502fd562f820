"""Amazon SQS: messages for the functions that work off a request's path."""

from __future__ import annotations

from telephony import aws
from telephony.errors import UpstreamUnavailable


def send(queue_url: str, body: str) -> str:
    """Send one message; returns its id. Any failure is `UpstreamUnavailable`: the queue did not take it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return str(aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"])
    except (ClientError, BotoCoreError) as exc:
        code = aws.error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        raise UpstreamUnavailable(
            "the queue did not take the message", details=[{"service": "sqs", "code": code}]
        ) from exc
