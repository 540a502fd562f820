"""The HttpApi Lambda authorizer (payload 2.0, simple responses).

HTTP APIs answer a refused authorization with 403 and their own body; the contract wants 401 in
our error shape. So a bad credential is let through marked `auth_error`, and every function refuses
it with a proper 401 (docs/adr/0003-error-contract.md). Only a missing header is refused by API Gateway.

Any other failure (the API keys table or the issuer's keys out of reach) is raised: API Gateway then answers
500 and caches nothing, where an answer, even one marked for a 503, would be kept with the header for
`AuthorizerCacheTtlSeconds` and refuse a good credential for that long after the outage.
"""

from __future__ import annotations

from typing import Any

from telephony.errors import Unauthenticated
from telephony.services import auth


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    headers = event.get("headers") or {}
    header = headers.get("authorization") or headers.get("Authorization")
    try:
        principal = auth.authenticate(header)
    except Unauthenticated as refused:
        return {
            "isAuthorized": True,
            "context": {"auth_error": refused.code, "auth_message": refused.message},
        }
    return {"isAuthorized": True, "context": principal.to_context()}
