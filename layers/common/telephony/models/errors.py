"""The one error body of the API (docs/adr/0003), as the OpenAPI document describes it.

`handlers.http.error_body` builds it; a unit test keeps the two the same.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from telephony.models.common import Out


class ErrorInfo(Out):
    code: str = Field(
        description="Stable, machine-readable: invalid_request, unauthorized, forbidden, do_not_call, not_found, "
        "conflict, idempotency_key_reused, rate_limited, bad_gateway, service_unavailable, internal_error"
    )
    message: str = Field(description="For people; may change")
    request_id: str = Field(description="Quote it when you report a problem")
    details: list[dict[str, Any]] = Field(
        description="What exactly was wrong, e.g. [{'field': 'phone_number', 'issue': '...'}]; often empty"
    )


class ErrorResponse(Out):
    error: ErrorInfo
