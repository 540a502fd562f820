"""The answers a route's OpenAPI entry lists: its success, with the RateLimit headers when the caller is
authenticated, and its failures in the one error body (models/errors.py), each with the code `handlers.http`
gives its status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telephony.models.budgets import API, WINDOW_SECONDS
from telephony.models.errors import ErrorResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

# status -> (when, an example message)
ERRORS: dict[int, tuple[str, str]] = {
    400: ("The request is not valid (body, path, query or header); `details` says where.", "the request is not valid"),
    401: (
        "Missing, invalid, expired or revoked credentials. A request with no `Authorization` header at all is "
        'refused by API Gateway itself, with its own body `{"message": "Unauthorized"}`.',
        "this API key has been revoked",
    ),
    403: ("Authenticated, but not allowed to do this.", "this action needs an admin"),
    404: ("No such resource, or not yours.", "no such call"),
    409: (
        "Conflicts with the resource's current state, or with another request.",
        "the call already ended (completed)",
    ),
    422: (
        "This `Idempotency-Key` was used with another request body.",
        "this Idempotency-Key was used with a different request body",
    ),
    429: (
        "Over a rate limit (`rate_limited`), or, placing a call or a transfer leg, as many calls live as the "
        "account's `max_concurrent_calls` (`concurrency_limit`); retry after `Retry-After` seconds.",
        "rate limit exceeded: 100 outbound calls per hour; retry in 1800 seconds",
    ),
    502: ("LiveKit answered with an error.", "LiveKit failed: internal error"),
    503: (
        "LiveKit or AWS is unavailable or throttling; nothing was left half-done. Retry.",
        "LiveKit is unavailable; retry shortly",
    ),
}

# The headers' definitions, shared by every answer that carries them (components.headers of the document).
HEADERS: dict[str, Any] = {
    "RateLimit": {
        "description": "What is left of the budget this request spent: "
        '`"<budget>";r=<remaining>;t=<seconds until it resets>`. On every answer to an authenticated request.',
        "schema": {"type": "string"},
        "example": '"api";r=998;t=1800',
    },
    "RateLimit-Policy": {
        "description": 'The budget: `"<budget>";q=<requests>;w=<window in seconds>`. On every answer to an '
        "authenticated request.",
        "schema": {"type": "string"},
        "example": f'"api";q={API.limit};w={WINDOW_SECONDS}',
    },
    "Retry-After": {
        "description": "Seconds until the exhausted budget's window resets.",
        "schema": {"type": "integer", "minimum": 0},
        "example": 1800,
    },
}
RATE_LIMIT_HEADERS = {name: {"$ref": f"#/components/headers/{name}"} for name in ("RateLimit", "RateLimit-Policy")}
RETRY_AFTER = {"$ref": "#/components/headers/Retry-After"}
_GATEWAY_BODY = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
TOO_LARGE: dict[str, Any] = {
    "description": "API Gateway's own answer to a body over 10 MB, or a request line and headers over 10,240 bytes "
    "(its quotas); no function runs.",
    "content": {"application/json": {"schema": _GATEWAY_BODY, "example": {"message": "Request Entity Too Large"}}},
}


def _code(status: int) -> str:
    from telephony.handlers.http import STATUS

    return next(cls.code for cls, known in STATUS.items() if known == status)  # the first class of that status


def error(status: int) -> OpenAPIResponse:
    """One failure as a route's entry lists it: its description and the error body, with an example."""
    when, message = ERRORS[status]
    details = [{"field": "phone_number", "issue": "String should have at most 32 characters"}] if status == 400 else []
    example = {
        "error": {"code": _code(status), "message": message, "request_id": "Jq3xGhx8oAMEVmA=", "details": details}
    }
    content: dict[str, Any] = {"model": ErrorResponse, "example": example}
    if status == 401:  # API Gateway's own body when there is no Authorization header (described above)
        content = {
            "schema": {"anyOf": [{"$ref": "#/components/schemas/ErrorResponse"}, _GATEWAY_BODY]},
            "example": example,
        }
    answer: dict[str, Any] = {"description": when, "content": {"application/json": content}}
    if status == 429:
        answer["headers"] = {"Retry-After": RETRY_AFTER}
    return answer  # type: ignore[return-value]


def errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    """The failures particular to a route, for its decorator: `responses=errors(404, 409, 502)`."""
    return {status: error(status) for status in statuses}


def answers(
    status: int, particular: dict[int, OpenAPIResponse], *, public: bool, takes_input: bool
) -> dict[int, OpenAPIResponse]:
    """Every answer of a route: its success (the body comes from its return annotation), 400 when it takes input
    to validate, for an authenticated route 401, 403 (an agent key, or a role short of the route's), 429 (the API
    budget) and 503 (DynamoDB), the failures `particular` to it, and API Gateway's 413. An authenticated route's
    answers carry the RateLimit headers, but for a 401 (no budget was spent)."""
    found: dict[int, Any] = {status: {"description": {201: "Created", 204: "No Content"}.get(status, "OK")}}
    if status == 204:
        found[status]["content"] = {}  # no body (else the return annotation's would be documented)
    if takes_input:
        found[400] = error(400)
    if not public:
        found.update(errors(401, 403, 429, 503))
    found.update(particular)
    found[413] = TOO_LARGE
    if not public:
        for code, answer in found.items():
            if code not in (401, 413):
                found[code] = {**answer, "headers": {**RATE_LIMIT_HEADERS, **(answer.get("headers") or {})}}
    return dict(sorted(found.items()))
