"""The OpenAPI 3.1 document of the whole API: the route table, the pydantic models the handlers validate
with, the error contract of handlers.http, the rate-limit budgets and the seeds' examples."""

from __future__ import annotations

import copy
import functools
from collections.abc import Hashable
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from telephony.handlers.http import STATUS
from telephony.models.budgets import API, CALLS, CONFIGURATIONS, NUMBER_REQUESTS, WINDOW_SECONDS
from telephony.models.errors import ErrorResponse
from telephony.openapi import examples
from telephony.openapi.routes import OPERATIONS, PATH_PARAMETERS, Operation

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
TITLE = "Telephony API for LiveKit voice agents"
SCHEMAS = "#/components/schemas/{model}"

# status -> (component name, when, an example message); the error code of each comes from handlers.http.STATUS
ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "InvalidRequest",
        "The request is not valid (body, path or query); `details` says where.",
        "the request is not valid",
    ),
    401: (
        "Unauthorized",
        "Missing, invalid, expired or revoked credentials. A request with no `Authorization` header at all is "
        'refused by API Gateway itself, with its own body `{"message": "Unauthorized"}`.',
        "this API key has been revoked",
    ),
    403: ("Forbidden", "Authenticated, but not allowed to do this.", "this action needs an admin"),
    404: ("NotFound", "No such resource, or not yours.", "no such call"),
    409: (
        "Conflict",
        "Conflicts with the resource's current state, or with another request.",
        "the call already ended (completed)",
    ),
    422: (
        "IdempotencyKeyReused",
        "This `Idempotency-Key` was used with another request body.",
        "this Idempotency-Key was used with a different request body",
    ),
    429: (
        "RateLimited",
        "Over a rate limit; retry after `Retry-After` seconds.",
        "rate limit exceeded: 100 outbound calls per hour; retry in 1800 seconds",
    ),
    502: ("BadGateway", "LiveKit answered with an error.", "LiveKit failed: internal error"),
    503: (
        "ServiceUnavailable",
        "LiveKit or AWS is unavailable or throttling; nothing was left half-done. Retry.",
        "LiveKit is unavailable; retry shortly",
    ),
}
CODES: dict[int, str] = {status.value: cls.code for cls, status in STATUS.items()}

HEADERS: dict[str, dict[str, Any]] = {
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

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key",
        "description": "An API key (`tpk_...`) from `POST /api-keys`, shown once. Roles: `user`, `agent`, `admin`.",
    },
    "userJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An RS256 JWT of the configured OIDC issuer (issuer, audience and expiry checked). "
        "Members of the `admin` group are admins.",
    },
    "livekitWebhook": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "LiveKit's signature: a JWT signed with the LiveKit API secret, holding the body's sha256.",
    },
}

TAGS = [
    {"name": "API keys"},
    {"name": "Phone-number requests", "description": "Ask for a number; an admin approves it; it is assigned."},
    {"name": "Admin", "description": "The review of phone-number requests."},
    {"name": "Phone numbers", "description": "Your numbers and their LiveKit SIP trunks and dispatch rules."},
    {"name": "Agents", "description": "Numbers of your own carrier, registered for an agent."},
    {"name": "Calls", "description": "Outbound calls handled by your agents."},
    {"name": "LiveKit"},
    {"name": "Documentation"},
]


def _description() -> str:
    per_user = ", ".join(
        f"{b.limit} {b.what.removesuffix(' per hour')}" for b in (NUMBER_REQUESTS, CONFIGURATIONS, CALLS)
    )
    return (
        "Request phone numbers, connect them to LiveKit through SIP trunks and dispatch rules, and place and "
        "manage calls handled by your voice agents.\n\n"
        "**Auth**: `Authorization: Bearer <API key or JWT>` on every route but the public ones.\n\n"
        '**Errors** always look like `{"error": {"code", "message", "request_id", "details"}}`; invalid input '
        "is 400, another user's resource is 404.\n\n"
        f"**Rate limits**, per hour: {API.limit} requests per API key (per user with a JWT); per user "
        f"{per_user}. Every answer to an authenticated request carries `RateLimit-Policy` and `RateLimit`; "
        "a 429 also `Retry-After`."
    )


def _schemas(operations: tuple[Operation, ...]) -> tuple[dict[Hashable, dict[str, Any]], dict[str, Any]]:
    """JSON Schemas of every body, query, response and the error, with the models as shared components."""
    inputs: list[tuple[Hashable, Any, Any]] = [("error", "serialization", TypeAdapter(ErrorResponse).core_schema)]
    for op in operations:
        inputs.append(((op.operation_id, "response"), "serialization", TypeAdapter(op.response).core_schema))
        if op.body is not None:
            inputs.append(((op.operation_id, "body"), "validation", TypeAdapter(op.body).core_schema))
        if op.query is not None:
            inputs.append(((op.operation_id, "query"), "validation", TypeAdapter(op.query).core_schema))
    mapping, definitions = GenerateJsonSchema(ref_template=SCHEMAS).generate_definitions(inputs)
    return {key: schema for (key, _mode), schema in mapping.items()}, {str(k): v for k, v in definitions.items()}


def _component(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _parameters(op: Operation, query: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = []
    for name in (part[1:-1] for part in op.path.split("/") if part.startswith("{")):
        schema = {k: v for k, v in PATH_PARAMETERS[name].items() if k != "description"}
        found.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": PATH_PARAMETERS[name]["description"],
                "schema": schema,
            }
        )
    if query is not None:
        for name, prop in query["properties"].items():
            schema = {k: v for k, v in prop.items() if k not in ("title", "description")}
            parameter = {"name": name, "in": "query", "required": name in query.get("required", ())}
            if "description" in prop:
                parameter["description"] = prop["description"]
            found.append({**parameter, "schema": schema})
    return found + [dict(header) for header in op.headers]


def _rate_headers() -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("RateLimit", "RateLimit-Policy")}


def _operation(op: Operation, mapping: dict[Hashable, dict[str, Any]], definitions: dict[str, Any]) -> dict[str, Any]:
    description = op.description
    if op.budget is not None:
        description += f" Spends your budget of {op.budget.limit} {op.budget.what} (429 past it)."
    success: dict[str, Any] = {
        "description": "Created" if op.status == 201 else "OK",
        "content": {op.media_type: {"schema": mapping[(op.operation_id, "response")]}},
    }
    if not op.public:
        success["headers"] = _rate_headers()
    built: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
    }
    if description.strip():
        built["description"] = description.strip()
    query = definitions.get(_component(mapping[(op.operation_id, "query")])) if op.query is not None else None
    parameters = _parameters(op, query)
    if parameters:
        built["parameters"] = parameters
    if op.body is not None:
        content: dict[str, Any] = {"schema": mapping[(op.operation_id, "body")]}
        if op.body_examples:
            content["examples"] = op.body_examples
        built["requestBody"] = {"required": True, "content": {"application/json": content}}
    elif op.raw_body is not None:
        built["requestBody"] = op.raw_body
    built["responses"] = {
        str(op.status): success,
        **{str(code): {"$ref": f"#/components/responses/{ERRORS[code][0]}"} for code in _errors(op)},
        "413": {"$ref": "#/components/responses/TooLarge"},
    }
    if op.public:
        built["security"] = [{op.scheme: []}] if op.scheme else []
    return built


def _errors(op: Operation) -> list[int]:
    """An `agent` credential is refused (403) on every authenticated route but the call events one."""
    return sorted({*op.errors, 403} if not op.public else set(op.errors))


def _error_responses(error_schema: dict[str, Any]) -> dict[str, Any]:
    responses = {}
    for status, (name, when, message) in ERRORS.items():
        headers = {} if status == 401 else _rate_headers()
        if status == 429:
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        details = (
            [{"field": "phone_number", "issue": "String should have at most 32 characters"}] if status == 400 else []
        )
        example = {
            "error": {"code": CODES[status], "message": message, "request_id": "Jq3xGhx8oAMEVmA=", "details": details}
        }
        schema = error_schema
        if status == 401:  # API Gateway's own body when there is no Authorization header (described above)
            gateway = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
            schema = {"anyOf": [error_schema, gateway]}
        responses[name] = {
            "description": when,
            **({"headers": headers} if headers else {}),
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    responses["TooLarge"] = {
        "description": "API Gateway's own answer to a body over 10 MB, or a request line and headers over "
        "10,240 bytes (its quotas); no function runs.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
                "example": {"message": "Request Entity Too Large"},
            }
        },
    }
    return responses


def build(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    mapping, definitions = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, mapping, definitions)
    for op in operations:  # query models become parameters, never components
        if op.query is not None:
            definitions.pop(_component(mapping[(op.operation_id, "query")]), None)
    for name, values in examples.SCHEMAS.items():
        definitions[name] = {**definitions[name], "examples": values}
    return copy.deepcopy(  # nothing of the module's tables is shared with a caller
        {
            "openapi": OPENAPI_VERSION,
            "info": {"title": TITLE, "version": API_VERSION, "description": _description()},
            "servers": [{"url": "/"}],
            "tags": TAGS,
            "security": [{"apiKey": []}, {"userJwt": []}],
            "paths": paths,
            "components": {
                "schemas": dict(sorted(definitions.items())),
                "responses": _error_responses(mapping["error"]),
                "headers": HEADERS,
                "securitySchemes": SECURITY_SCHEMES,
            },
        }
    )


@functools.cache
def document() -> dict[str, Any]:
    """Built once per process; treat it as read-only."""
    return build()
