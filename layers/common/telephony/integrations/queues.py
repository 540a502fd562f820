"""Amazon SQS: messages for the functions that work off a request's path."""

from __future__ import annotations

from telephony import aws
from telephony.errors import UpstreamUnavailable


def _unavailable(exc: Exception, what: str) -> UpstreamUnavailable:
    from botocore.exceptions import ClientError

    code = aws.error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return UpstreamUnavailable(what, details=[{"service": "sqs", "code": code}])


def send(queue_url: str, body: str, *, delay_seconds: int = 0) -> str:
    """Send one message, held back `delay_seconds` (15 minutes at most); returns its id. Any failure is
    `UpstreamUnavailable`: the queue did not take it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sent = aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay_seconds)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable(exc, "the queue did not take the message") from exc
    return str(sent["MessageId"])
