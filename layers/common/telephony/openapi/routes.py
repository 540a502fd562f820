"""Every HTTP route of the API, as the OpenAPI document tells it.

Each function is its own Lambda artifact, so the document cannot import their resolvers; it is built
from this table and the models instead. tests/unit/test_openapi.py holds the table to the template's
routes and to each function's own resolver (body, response, status, path and query parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from telephony.models.auth import ApiKeyCreated, ApiKeyInfo, CreateApiKey
from telephony.models.budgets import CALLS, CONFIGURATIONS, NUMBER_REQUESTS, Budget
from telephony.models.calls import (
    CallCreated,
    CallDetails,
    CallEvents,
    CallsQuery,
    CallStats,
    CreateCall,
    DetailsQuery,
    EventsAccepted,
    Transfer,
)
from telephony.models.common import Page, PageQuery
from telephony.models.numbers import PhoneNumber
from telephony.models.requests import (
    ApproveRequest,
    CreatePhoneNumberRequest,
    PhoneNumberRequest,
    RejectRequest,
    ReviewQueueQuery,
)
from telephony.models.sip import (
    ConfigureRequest,
    DeleteConfigurationQuery,
    NumberConfiguration,
    RegisteredPhoneNumber,
    RegisterPhoneNumber,
    RemovedConfiguration,
    Unregistered,
)
from telephony.openapi import examples

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "key_id": {"type": "string", "description": "An API key id (`ak_...`)"},
    "request_id": {"type": "string", "description": "A phone-number request id (`req_...`)"},
    "phone_number_id": {"type": "string", "description": "A phone number id (`pn_...`)"},
    "agent_id": {"type": "string", "format": "uuid", "description": "The agent's id, a UUID"},
    "call_id": {"type": "string", "description": "A call id (`call_...`)"},
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same key again (with the same body) to get the first answer instead of a second "
    "call, for 24 hours. The same key with another body is 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as template.yaml writes it: {x} path parameters
    operation_id: str  # the function's folder name: one name threads through
    tag: str
    summary: str
    response: Any  # the handler's return annotation: a model, Page[...], dict or str
    body: type[BaseModel] | None = None
    status: int = 200
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    public: bool = False
    scheme: str | None = None  # the credential of a public route, if it has its own
    description: str = ""
    budget: Budget | None = None  # a per-user budget spent besides the API key's
    body_examples: dict[str, Any] | None = None
    headers: tuple[dict[str, Any], ...] = ()
    raw_body: dict[str, Any] | None = None  # a request body no model describes (LiveKit's)
    media_type: str = "application/json"


WEBHOOK_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/webhook+json": {
            "schema": {
                "type": "object",
                "description": "A LiveKit WebhookEvent (participant_joined, track_published, participant_left, "
                "room_finished, ...)",
            }
        }
    },
}

ADMIN = "Admins only (an `admin` API key, or a JWT of the `admin` group); 403 for anyone else."

OPERATIONS: tuple[Operation, ...] = (
    # ---------------------------------------------------------------- API keys
    Operation(
        "POST",
        "/api-keys",
        "create_api_key",
        "API keys",
        "Create an API key",
        ApiKeyCreated,
        body=CreateApiKey,
        status=201,
        errors=(400, 401, 403, 429, 503),
        description="The key is in the answer once; only its hash is stored. Only admins create `admin` keys.",
        body_examples=examples.CREATE_API_KEY,
    ),
    Operation(
        "GET",
        "/api-keys",
        "list_api_keys",
        "API keys",
        "List your API keys",
        Page[ApiKeyInfo],
        query=PageQuery,
        errors=(400, 401, 429, 503),
    ),
    Operation(
        "DELETE",
        "/api-keys/{key_id}",
        "revoke_api_key",
        "API keys",
        "Revoke an API key",
        ApiKeyInfo,
        errors=(401, 404, 429, 503),
        description="Refused from the next request on, even while the authorizer's answer is cached.",
    ),
    # ---------------------------------------------------------------- phone-number requests
    Operation(
        "POST",
        "/telephony/phone-number-requests",
        "create_phone_number_request",
        "Phone-number requests",
        "Request a phone number",
        PhoneNumberRequest,
        body=CreatePhoneNumberRequest,
        status=201,
        errors=(400, 401, 409, 429, 503),
        description="An admin reviews it. 409 when the number already has an open request or an owner.",
        budget=NUMBER_REQUESTS,
        body_examples=examples.CREATE_PHONE_NUMBER_REQUEST,
    ),
    Operation(
        "GET",
        "/telephony/phone-number-requests",
        "list_phone_number_requests",
        "Phone-number requests",
        "List your phone-number requests",
        Page[PhoneNumberRequest],
        query=PageQuery,
        errors=(400, 401, 429, 503),
    ),
    Operation(
        "GET",
        "/telephony/phone-number-requests/{request_id}",
        "get_phone_number_request",
        "Phone-number requests",
        "Get a phone-number request",
        PhoneNumberRequest,
        errors=(401, 404, 429, 503),
        description="Its status: pending, approved, rejected, assigned, expired or failed; `phone_number_id` "
        "once assigned.",
    ),
    Operation(
        "GET",
        "/admin/phone-number-requests",
        "list_review_queue",
        "Admin",
        "The review queue",
        Page[PhoneNumberRequest],
        query=ReviewQueueQuery,
        errors=(400, 401, 403, 429, 503),
        description=ADMIN,
    ),
    Operation(
        "POST",
        "/admin/phone-number-requests/{request_id}/approve",
        "approve_phone_number_request",
        "Admin",
        "Approve a phone-number request",
        PhoneNumberRequest,
        body=ApproveRequest,
        errors=(400, 401, 403, 404, 409, 429, 503),
        description=f"{ADMIN} The workflow then assigns the number. 409 unless the request is pending.",
        body_examples=examples.APPROVE,
    ),
    Operation(
        "POST",
        "/admin/phone-number-requests/{request_id}/reject",
        "reject_phone_number_request",
        "Admin",
        "Reject a phone-number request",
        PhoneNumberRequest,
        body=RejectRequest,
        errors=(400, 401, 403, 404, 409, 429, 503),
        description=f"{ADMIN} 409 unless the request is pending.",
        body_examples=examples.REJECT,
    ),
    # ---------------------------------------------------------------- numbers and their LiveKit configuration
    Operation(
        "GET",
        "/outbound-calls/phone-numbers",
        "list_phone_numbers",
        "Phone numbers",
        "List your phone numbers",
        Page[PhoneNumber],
        query=PageQuery,
        errors=(400, 401, 429, 503),
        description="With their `configuration_status`: unconfigured, partial or configured.",
    ),
    Operation(
        "POST",
        "/outbound-calls/phone-numbers/{phone_number_id}/configure",
        "configure_phone_number",
        "Phone numbers",
        "Configure a phone number in LiveKit",
        NumberConfiguration,
        body=ConfigureRequest,
        errors=(400, 401, 404, 409, 429, 502, 503),
        description="Creates or replaces its SIP trunks (inbound and outbound) and dispatch rule; give at least "
        "one of `sip_trunk`, `dispatch_rule`. Nothing is left half-made in LiveKit when it fails. A rule on a number "
        "without an inbound trunk takes only calls to that number. 409 for a number registered to an agent: its "
        "configuration follows the registration.",
        budget=CONFIGURATIONS,
        body_examples=examples.CONFIGURE,
    ),
    Operation(
        "GET",
        "/outbound-calls/phone-numbers/{phone_number_id}/configuration",
        "get_phone_number_configuration",
        "Phone numbers",
        "Get a phone number's configuration",
        NumberConfiguration,
        errors=(401, 404, 429, 503),
        description="Without secrets: `auth_configured` tells whether a SIP password is stored.",
    ),
    Operation(
        "DELETE",
        "/outbound-calls/phone-numbers/{phone_number_id}/configuration",
        "delete_phone_number_configuration",
        "Phone numbers",
        "Remove a phone number's configuration",
        RemovedConfiguration,
        query=DeleteConfigurationQuery,
        errors=(400, 401, 404, 409, 429, 502, 503),
        description="Removed in LiveKit first, then here. 409 for a number registered to an agent (unregister it).",
    ),
    # ---------------------------------------------------------------- agents
    Operation(
        "POST",
        "/agents/{agent_id}/phone-numbers",
        "register_agent_phone_number",
        "Agents",
        "Register a phone number for an agent",
        RegisteredPhoneNumber,
        body=RegisterPhoneNumber,
        status=201,
        errors=(400, 401, 409, 429, 502, 503),
        description="Every field of the Register Phone Number API, with its defaults, ranges and patterns. "
        "`outbound_enabled` is accepted for `enable_outbound`. The answer has the SIP URI to point the "
        "provider at and provider-specific `instructions`. 409 when the number is registered or requested.",
        budget=CONFIGURATIONS,
        body_examples=examples.REGISTER_PHONE_NUMBER,
    ),
    Operation(
        "GET",
        "/agents/{agent_id}/phone-numbers",
        "list_agent_phone_numbers",
        "Agents",
        "List an agent's phone numbers",
        Page[RegisteredPhoneNumber],
        query=PageQuery,
        errors=(400, 401, 429, 503),
    ),
    Operation(
        "DELETE",
        "/agents/{agent_id}/phone-numbers/{phone_number_id}",
        "unregister_agent_phone_number",
        "Agents",
        "Unregister an agent's phone number",
        Unregistered,
        errors=(400, 401, 404, 409, 429, 502, 503),
        description="Its LiveKit trunks and dispatch rule go too.",
    ),
    # ---------------------------------------------------------------- calls
    Operation(
        "POST",
        "/outbound-calls/create",
        "create_call",
        "Calls",
        "Place an outbound call",
        CallCreated,
        body=CreateCall,
        status=201,
        errors=(400, 401, 404, 409, 422, 429, 502, 503),
        description="Dials the callee from one of your numbers that can place calls and dispatches the agent "
        "into the call's room. The call then moves dialing -> ringing -> in_progress -> completed (or busy, "
        "no_answer, failed, canceled): poll its details.",
        budget=CALLS,
        body_examples=examples.CREATE_CALL,
        headers=(IDEMPOTENCY_KEY,),
    ),
    Operation(
        "GET",
        "/outbound-calls",
        "list_calls",
        "Calls",
        "List your calls, newest first",
        Page[CallDetails],
        query=CallsQuery,
        errors=(400, 401, 429, 503),
    ),
    Operation(
        "GET",
        "/outbound-calls/{call_id}/details",
        "get_call_details",
        "Calls",
        "Get a call",
        CallDetails,
        query=DetailsQuery,
        errors=(400, 401, 404, 429, 503),
    ),
    Operation(
        "POST",
        "/outbound-calls/{call_id}/hangup",
        "hangup_call",
        "Calls",
        "Hang up a call",
        CallDetails,
        errors=(401, 404, 409, 429, 502, 503),
        description="Deletes the LiveKit room. 409 when the call already ended.",
    ),
    Operation(
        "POST",
        "/outbound-calls/{call_id}/transfer",
        "transfer_call",
        "Calls",
        "Transfer a call",
        CallDetails,
        body=Transfer,
        errors=(400, 401, 403, 404, 409, 429, 502, 503),
        description="`cold` (SIP REFER) or `warm` (dial the destination into the room). 403 unless the "
        "destination is in the number's `transfer_config.allowed_destinations` and the mode is enabled; "
        "409 unless the call is in progress.",
        body_examples=examples.TRANSFER,
    ),
    Operation(
        "POST",
        "/outbound-calls/{call_id}/events",
        "post_call_events",
        "Calls",
        "Post transcript segments and the summary",
        EventsAccepted,
        body=CallEvents,
        errors=(400, 401, 404, 409, 429, 503),
        description="By the call's owner or one of its `agent` API keys. A call's transcript holds at most "
        "500,000 characters of text (409 beyond). Segments are returned ordered by `at`; a repeated post of "
        "segments that give their `at` (a retry) stores them once.",
        body_examples=examples.CALL_EVENTS,
    ),
    Operation(
        "GET",
        "/outbound-calls/stats",
        "get_call_stats",
        "Calls",
        "Statistics of your calls",
        CallStats,
        errors=(401, 429, 503),
        description="Totals, counts by status, answer rate, durations, and the same for the last 24 hours.",
    ),
    # ---------------------------------------------------------------- public
    Operation(
        "POST",
        "/livekit/webhook",
        "livekit_webhook",
        "LiveKit",
        "LiveKit webhooks",
        dict,
        errors=(401, 503),
        public=True,
        scheme="livekitWebhook",
        description="For LiveKit, not for clients: signed events that move calls along. Answers "
        "`{event, id, applied}`.",
        raw_body=WEBHOOK_BODY,
    ),
    Operation(
        "GET",
        "/openapi.json",
        "get_openapi",
        "Documentation",
        "This document",
        dict,
        public=True,
    ),
    Operation(
        "GET",
        "/docs",
        "get_docs",
        "Documentation",
        "Swagger UI for this document",
        str,
        public=True,
        media_type="text/html",
    ),
)
