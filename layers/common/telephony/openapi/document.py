"""The whole API's OpenAPI 3.1 document, merged by Powertools' OpenAPIMerge from each function's own resolver
(what its route declares) and what the API says as a whole (title, description, auth schemes, tags), here.

Functions are separate Lambda artifacts, so the document is built ahead of time (`make openapi`, local/openapi.py)
into the file GET /openapi.json serves (docs/adr/0016-routes-declared-once.md)."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from telephony.models.budgets import API, CALLS, CONFIGURATIONS, NUMBER_REQUESTS
from telephony.openapi.responses import HEADERS

if TYPE_CHECKING:
    from telephony.handlers.http import Api

TITLE = "Telephony API for LiveKit voice agents"
API_VERSION = "1.0.0"
SCHEMAS = "#/components/schemas/{model}"

SECURITY_SCHEMES: dict[str, Any] = {
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
SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}, {"userJwt": []}]

TAGS: list[dict[str, str]] = [
    {"name": "API keys"},
    {"name": "Phone-number requests", "description": "Ask for a number; an admin approves it; it is assigned."},
    {"name": "Account", "description": "Your account's settings, limits and usage."},
    {"name": "Admin", "description": "The review of phone-number requests; every account's keys and limits."},
    {"name": "Phone numbers", "description": "Your numbers and their LiveKit SIP trunks and dispatch rules."},
    {"name": "Agents", "description": "Numbers of your own carrier, registered for an agent."},
    {"name": "Calls", "description": "Outbound calls handled by your agents."},
    {"name": "Webhooks", "description": "Your endpoints, told of events signed as Standard Webhooks v1."},
    {"name": "Account", "description": "Your account's settings: the calling hours held in the callee's local time."},
    {"name": "LiveKit"},
    {"name": "Documentation"},
]


def description() -> str:
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


def build(apps: Iterable[Api]) -> dict[str, Any]:
    """The document of every route the resolvers declare, in their order."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merge = OpenAPIMerge(
        title=TITLE,
        version=API_VERSION,
        description=description(),
        tags=TAGS,  # type: ignore[arg-type]
        security_schemes=SECURITY_SCHEMES,
        security=SECURITY,
        on_conflict="error",
    )
    apps = list(apps)
    for app in apps:
        own = app.get_openapi_json_schema(title=TITLE, version=API_VERSION, security_schemes=SECURITY_SCHEMES)
        merge.add_schema(json.loads(own))
    document = merge.get_openapi_schema()
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for app in apps:
        for method, path, handler in app.declared:
            operation = document["paths"][path][method.lower()]
            _answers_validation_with_400(operation)
            operation["responses"] = dict(sorted(operation["responses"].items()))
            _query_parameters_in_full(operation, handler, components)
            if app.public:
                operation.setdefault("security", [])  # no Bearer credential; LiveKit's route names its own
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):  # Powertools' own, unused
        components.pop(name, None)
    document["webhooks"] = webhooks(components)
    document["components"]["headers"] = HEADERS
    document["components"] = {kind: dict(sorted(found.items())) for kind, found in document["components"].items()}
    return document


SIGNATURE_HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "The event's id: the same on every attempt to deliver it, so a receiver can ignore a repeat.",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "When this attempt was signed, in seconds since the epoch.",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "`v1,<base64 of HMAC-SHA256 of {webhook-id}.{webhook-timestamp}.{body}>`, keyed with the "
        "secret's bytes after `whsec_`; during a rotation, one per secret, space-separated (Standard Webhooks v1).",
    },
]


def webhooks(components: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI's `webhooks`: each event type as the request our deliverer makes to a customer's endpoint."""
    from telephony.models.webhooks import EVENT_DATA

    found: dict[str, Any] = {}
    for event_type, data in EVENT_DATA.items():
        schema = data.model_json_schema(ref_template=SCHEMAS)
        for name, definition in schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault(data.__name__, schema)
        body = {
            "type": "object",
            "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"const": event_type.value},
                "timestamp": {"type": "string", "format": "date-time", "description": "When it happened"},
                "data": {"$ref": SCHEMAS.format(model=data.__name__)},
            },
        }
        found[event_type.value] = {
            "post": {
                "summary": event_type.value,
                "tags": ["Webhooks"],
                "parameters": SIGNATURE_HEADERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": {
                    "2XX": {
                        "description": "Delivered. Any other answer is retried, but 410 (disables the webhook) "
                        "and other 4xx (failed at once)"
                    },
                },
            }
        }
    return found


def _answers_validation_with_400(operation: dict[str, Any]) -> None:
    """Powertools lists its own 422 for failed validation; ours is the 400 every route that takes input lists."""
    failed = operation["responses"].get("422", {})
    schema = failed.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("$ref", "").endswith("/HTTPValidationError"):
        del operation["responses"]["422"]


def _query_parameters_in_full(operation: dict[str, Any], handler: Any, components: dict[str, Any]) -> None:
    """Powertools writes a query model's fields as bare types (`integer`, `string`); here each gets its field's
    whole schema (bounds, enum, default), as the model validates it."""
    for model in _query_models(handler):
        components.pop(model.__name__, None)  # Powertools' schema of the model itself, which nothing refers to
        schema = model.model_json_schema(ref_template=SCHEMAS)
        for name, definition in schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        for parameter in operation.get("parameters", []):
            field = schema["properties"].get(parameter["name"]) if parameter["in"] == "query" else None
            if field is not None:
                parameter["schema"] = {k: v for k, v in field.items() if k not in ("title", "description")}


def _query_models(handler: Any) -> list[type[BaseModel]]:
    from aws_lambda_powertools.event_handler.openapi.params import Query

    found = []
    for hint in typing.get_type_hints(handler, include_extras=True).values():
        if typing.get_origin(hint) is typing.Annotated:
            model, *marks = typing.get_args(hint)
            if inspect.isclass(model) and issubclass(model, BaseModel) and any(isinstance(m, Query) for m in marks):
                found.append(model)
    return found
