"""Amazon Bedrock's Converse API: the only module that talks to Bedrock."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.errors import UpstreamError, UpstreamUnavailable

# Bedrock's answers worth asking again later: throttled, busy, or a model that is loading or timed out.
_TRANSIENT = {
    "ThrottlingException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "ServiceQuotaExceededException",
}


class Bedrock:
    def __init__(self, client: Any) -> None:
        self._client = client

    def converse(self, model_id: str, prompt: str, *, max_tokens: int, temperature: float) -> str:
        """The model's text answer to one user message. `UpstreamUnavailable` when asking again later may
        succeed, `UpstreamError` when Bedrock refused the request itself (model, access, input)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.converse(
                modelId=model_id,
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": temperature},
            )
        except ClientError as exc:
            code = aws.error_code(exc)
            details = [{"service": "bedrock", "code": code}]
            if code in _TRANSIENT:
                raise UpstreamUnavailable("Bedrock is unavailable; retry later", details=details) from exc
            raise UpstreamError("Bedrock refused the request", details=details) from exc
        except BotoCoreError as exc:
            raise UpstreamUnavailable("Bedrock is unreachable; retry later", details=[{"service": "bedrock"}]) from exc
        content = ((answer.get("output") or {}).get("message") or {}).get("content") or []
        return "".join(part.get("text", "") for part in content).strip()


_default: Bedrock | None = None


def default() -> Bedrock:
    global _default
    if _default is None:
        _default = Bedrock(aws.client("bedrock-runtime"))
    return _default


def reset_default() -> None:
    global _default
    _default = None
