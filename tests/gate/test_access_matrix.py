"""Who may call what: every route of template.yaml x every kind of caller -> the expected status.

The routes come from the template (`local.template.Stack().functions()`), so a new route without an
entry in CASES fails here instead of going unchecked. A route whose event says
`Auth: {Authorizer: NONE}` is public: the webhook needs LiveKit's signature instead of a Bearer
credential, and any other public route (the API description) answers every caller alike.
"""

from __future__ import annotations

import base64
import hashlib
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local.template import Stack
from tests import seeding
from tests.gate.conftest import (
    AGENT,
    ALLOWED,
    CONFIGURE,
    call_in_progress,
    figure,
    inbound_call_in_progress,
    own_number,
    pending_request,
    place_call,
    recording_status,
    register,
)
from tests.support import assert_error

ROUTES = sorted((method, path, public) for f in Stack().functions().values() for method, path, public in f.routes)
VALID = ("owner", "other", "admin", "agent")
INVALID = ("none", "malformed", "revoked", "expired", "foreign_jwt", "alg_none")
PRINCIPALS = VALID + INVALID


class Seeds:
    """The resources a route needs, made on first use: alice owns them all."""

    def __init__(self, world: Any, keys: Any) -> None:
        self.world, self.keys = world, keys

    @cached_property
    def registered(self) -> dict[str, Any]:
        return register(self.world, self.keys.alice)

    @cached_property
    def call_id(self) -> str:
        assert self.registered
        return call_in_progress(self.world, self.keys.alice)

    @cached_property
    def inbound_call_id(self) -> str:
        assert self.registered
        return inbound_call_in_progress(self.world, self.keys.alice)

    @cached_property
    def recorded_call_id(self) -> str:
        """A call of alice's, recorded, ended, its recording ready."""
        assert self.registered
        call_id = place_call(self.world, self.keys.alice, RECORDED, record=True)
        recording_status(self.world, self.keys.alice, call_id, "recording")
        hung = self.world.client.post(f"/outbound-calls/{call_id}/hangup", token=self.keys.alice)
        assert hung.status == 200, hung.body
        recording_status(self.world, self.keys.alice, call_id, "ready")
        return call_id

    @cached_property
    def number_id(self) -> str:
        return own_number("usr_alice")

    @cached_property
    def request_id(self) -> str:
        return pending_request(self.world, self.keys.alice)

    @cached_property
    def key_id(self) -> str:
        made = self.world.client.post("/api-keys", token=self.keys.alice, json_body={"name": "matrix"})
        return str(made.json()["key_id"])

    @cached_property
    def webhook_id(self) -> str:
        made = self.world.client.post("/webhooks", token=self.keys.alice, json_body=WEBHOOK)
        assert made.status == 201, made.body
        return str(made.json()["webhook_id"])

    @cached_property
    def delivery_id(self) -> str:
        sent = self.world.client.post(f"/webhooks/{self.webhook_id}/test", token=self.keys.alice)
        assert sent.status == 200, sent.body
        return seeding.delivery("usr_alice", self.webhook_id, event_id=sent.json()["event_id"])

    @cached_property
    def dnc_number(self) -> str:
        made = self.world.client.post("/dnc", token=self.keys.alice, json_body={"numbers": [DNC_NUMBER]})
        assert made.status == 200, made.body
        return DNC_NUMBER

    @cached_property
    def global_dnc_number(self) -> str:
        made = self.world.client.post("/admin/dnc", token=self.keys.admin, json_body={"numbers": [GLOBAL_DNC_NUMBER]})
        assert made.status == 200, made.body
        return GLOBAL_DNC_NUMBER

    @cached_property
    def campaign_id(self) -> str:
        """A draft campaign of alice's."""
        return self.campaign()

    @cached_property
    def scheduled_campaign(self) -> str:
        """Started, and waiting for its start time (so that it neither dials nor ends meanwhile)."""
        campaign_id = self.campaign(schedule={"start_at": "2099-01-01T00:00:00Z"})
        started = self.world.client.post(f"/campaigns/{campaign_id}/start", token=self.keys.alice)
        assert started.status == 200 and started.json()["status"] == "scheduled", started.body
        return campaign_id

    @cached_property
    def paused_campaign(self) -> str:
        campaign_id = self.scheduled_campaign
        assert self.world.client.post(f"/campaigns/{campaign_id}/pause", token=self.keys.alice).status == 200
        return campaign_id

    def campaign(self, **body: Any) -> str:
        made = self.world.client.post("/campaigns", token=self.keys.alice, json_body={**campaign_body(self), **body})
        assert made.status == 201, made.body
        return str(made.json()["campaign_id"])

    @property
    def key_owner(self) -> str:
        assert self.key_id
        return "usr_alice"


# (path, body) a principal sends; bodies differ per principal where each creates its own resource
Request = Callable[[Seeds, str], tuple[str, Any]]

NUMBERS = {"owner": "+14155550111", "other": "+14155550112", "admin": "+14155550113", "agent": "+14155550114"}
for _i, _name in enumerate(INVALID):
    NUMBERS[_name] = f"+1415555012{_i}"


@dataclass
class Case:
    request: Request
    owner: int
    other: int
    admin: int
    agent: int = 403  # DESIGN 3: an agent key may post call events for its owner's calls, nothing else
    query: str = ""
    invisible: Callable[[Seeds], str] | None = None  # what another caller's 2xx must not show
    extra: dict[str, Any] = field(default_factory=dict)

    def expected(self, principal: str) -> int:
        return getattr(self, principal) if principal in VALID else 401


WEBHOOK = {"url": "http://127.0.0.1:9/matrix", "events": ["*"]}
RECORDED = "+14155550133"  # alice's recorded call


def campaign_body(s: Seeds) -> dict[str, Any]:
    """A campaign from alice's registered number: another caller naming it names a number that is not theirs."""
    return {
        "name": "matrix",
        "from_phone_number_id": s.registered["phone_number_id"],
        "contacts": [{"phone_number": "+14155550141"}],
    }


DNC_NUMBER = "+14155550131"  # on alice's do-not-call list
GLOBAL_DNC_NUMBER = "+14155550132"  # on the operator's


def _reg(s: Seeds, p: str) -> dict[str, Any]:
    # each caller registers its own agent: an agent name is one account's (tests/gate/test_review_findings.py)
    return {"phone_number": NUMBERS[p], "provider": "custom", "metadata": {"agent_name": f"matrix-{p}"}}


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api-keys"): Case(lambda s, p: ("/api-keys", {"name": f"by {p}"}), 201, 201, 201),
    ("GET", "/api-keys"): Case(lambda s, p: ("/api-keys", None), 200, 200, 200, invisible=lambda s: s.key_id),
    ("DELETE", "/api-keys/{key_id}"): Case(lambda s, p: (f"/api-keys/{s.key_id}", None), 200, 404, 404),
    ("GET", "/admin/api-keys"): Case(lambda s, p: (f"/admin/api-keys?user_id={s.key_owner}", None), 403, 403, 200),
    ("DELETE", "/admin/api-keys/{key_id}"): Case(lambda s, p: (f"/admin/api-keys/{s.key_id}", None), 403, 403, 200),
    ("GET", "/account/settings"): Case(lambda s, p: ("/account/settings", None), 200, 200, 200),
    ("PUT", "/account/settings"): Case(
        lambda s, p: ("/account/settings", {"calling_hours": {"start": "09:00"}}), 200, 200, 200
    ),
    ("POST", "/telephony/phone-number-requests"): Case(
        lambda s, p: ("/telephony/phone-number-requests", {"phone_number": NUMBERS[p], "country": "US"}), 201, 201, 201
    ),
    ("GET", "/telephony/phone-number-requests"): Case(
        lambda s, p: ("/telephony/phone-number-requests", None), 200, 200, 200, invisible=lambda s: s.request_id
    ),
    ("GET", "/telephony/phone-number-requests/{request_id}"): Case(
        lambda s, p: (f"/telephony/phone-number-requests/{s.request_id}", None), 200, 404, 200
    ),
    ("GET", "/admin/phone-number-requests"): Case(lambda s, p: ("/admin/phone-number-requests", None), 403, 403, 200),
    ("POST", "/admin/phone-number-requests/{request_id}/approve"): Case(
        lambda s, p: (f"/admin/phone-number-requests/{s.request_id}/approve", {"note": "ok"}), 403, 403, 200
    ),
    ("POST", "/admin/phone-number-requests/{request_id}/reject"): Case(
        lambda s, p: (f"/admin/phone-number-requests/{s.request_id}/reject", {"reason": "no"}), 403, 403, 200
    ),
    ("GET", "/outbound-calls/phone-numbers"): Case(
        lambda s, p: ("/outbound-calls/phone-numbers", None), 200, 200, 200, invisible=lambda s: s.number_id
    ),
    ("POST", "/outbound-calls/phone-numbers/{phone_number_id}/configure"): Case(
        lambda s, p: (f"/outbound-calls/phone-numbers/{s.number_id}/configure", CONFIGURE), 200, 404, 404
    ),
    ("GET", "/outbound-calls/phone-numbers/{phone_number_id}/configuration"): Case(
        lambda s, p: (f"/outbound-calls/phone-numbers/{s.number_id}/configuration", None), 200, 404, 404
    ),
    ("DELETE", "/outbound-calls/phone-numbers/{phone_number_id}/configuration"): Case(
        lambda s, p: (f"/outbound-calls/phone-numbers/{s.number_id}/configuration?config_type=all", None), 200, 404, 404
    ),
    ("POST", "/agents/{agent_id}/phone-numbers"): Case(
        lambda s, p: (f"/agents/{AGENT}/phone-numbers", _reg(s, p)), 201, 201, 201
    ),
    ("GET", "/agents/{agent_id}/phone-numbers"): Case(
        lambda s, p: (f"/agents/{AGENT}/phone-numbers", None),
        200,
        200,
        200,
        invisible=lambda s: s.registered["phone_number_id"],
    ),
    ("DELETE", "/agents/{agent_id}/phone-numbers/{phone_number_id}"): Case(
        lambda s, p: (f"/agents/{AGENT}/phone-numbers/{s.registered['phone_number_id']}", None), 200, 404, 404
    ),
    ("POST", "/outbound-calls/create"): Case(
        lambda s, p: (
            "/outbound-calls/create",
            {"phone_number": "+14155550188", "from_phone_number_id": s.registered["phone_number_id"]},
        ),
        201,
        404,
        404,
    ),
    ("GET", "/outbound-calls"): Case(
        lambda s, p: ("/outbound-calls", None), 200, 200, 200, invisible=lambda s: s.call_id
    ),
    ("GET", "/outbound-calls/stats"): Case(lambda s, p: ("/outbound-calls/stats", None), 200, 200, 200),
    ("GET", "/outbound-calls/{call_id}/details"): Case(
        lambda s, p: (f"/outbound-calls/{s.call_id}/details", None), 200, 404, 404
    ),
    ("POST", "/outbound-calls/{call_id}/hangup"): Case(
        lambda s, p: (f"/outbound-calls/{s.call_id}/hangup", None), 200, 404, 404
    ),
    ("POST", "/outbound-calls/{call_id}/transfer"): Case(
        lambda s, p: (f"/outbound-calls/{s.call_id}/transfer", {"transfer_to": ALLOWED}), 200, 404, 404
    ),
    ("POST", "/outbound-calls/{call_id}/events"): Case(
        lambda s, p: (f"/outbound-calls/{s.call_id}/events", {"summary": f"by {p}"}), 200, 404, 404, agent=200
    ),
    # the calls of both directions: each route with an inbound call, which only its owner (and its agent) reach
    ("GET", "/calls"): Case(lambda s, p: ("/calls", None), 200, 200, 200, invisible=lambda s: s.inbound_call_id),
    ("GET", "/calls/stats"): Case(lambda s, p: ("/calls/stats?direction=inbound", None), 200, 200, 200),
    ("GET", "/calls/{call_id}"): Case(lambda s, p: (f"/calls/{s.inbound_call_id}", None), 200, 404, 404),
    ("POST", "/calls/{call_id}/hangup"): Case(lambda s, p: (f"/calls/{s.inbound_call_id}/hangup", None), 200, 404, 404),
    ("POST", "/calls/{call_id}/transfer"): Case(
        lambda s, p: (f"/calls/{s.inbound_call_id}/transfer", {"transfer_to": ALLOWED}), 200, 404, 404
    ),
    ("POST", "/calls/{call_id}/events"): Case(
        lambda s, p: (f"/calls/{s.inbound_call_id}/events", {"summary": f"by {p}"}), 200, 404, 404, agent=200
    ),
    ("GET", "/outbound-calls/{call_id}/recording"): Case(
        lambda s, p: (f"/outbound-calls/{s.recorded_call_id}/recording", None), 200, 404, 404
    ),
    ("DELETE", "/outbound-calls/{call_id}/recording"): Case(
        lambda s, p: (f"/outbound-calls/{s.recorded_call_id}/recording", None), 204, 404, 404
    ),
    ("GET", "/calls/{call_id}/recording"): Case(
        lambda s, p: (f"/calls/{s.recorded_call_id}/recording", None), 200, 404, 404
    ),
    ("DELETE", "/calls/{call_id}/recording"): Case(
        lambda s, p: (f"/calls/{s.recorded_call_id}/recording", None), 204, 404, 404
    ),
    ("GET", "/account/limits"): Case(lambda s, p: ("/account/limits", None), 200, 200, 200),
    ("GET", "/admin/accounts/{user_id}/limits"): Case(
        lambda s, p: ("/admin/accounts/usr_alice/limits", None), 403, 403, 200
    ),
    ("PUT", "/admin/accounts/{user_id}/limits"): Case(
        lambda s, p: ("/admin/accounts/usr_alice/limits", {"max_numbers": 20}), 403, 403, 200
    ),
    ("POST", "/webhooks"): Case(lambda s, p: ("/webhooks", {**WEBHOOK, "description": f"by {p}"}), 201, 201, 201),
    ("GET", "/webhooks"): Case(lambda s, p: ("/webhooks", None), 200, 200, 200, invisible=lambda s: s.webhook_id),
    ("GET", "/webhooks/{webhook_id}"): Case(lambda s, p: (f"/webhooks/{s.webhook_id}", None), 200, 404, 404),
    ("PATCH", "/webhooks/{webhook_id}"): Case(
        lambda s, p: (f"/webhooks/{s.webhook_id}", {"description": f"by {p}"}), 200, 404, 404
    ),
    ("DELETE", "/webhooks/{webhook_id}"): Case(lambda s, p: (f"/webhooks/{s.webhook_id}", None), 200, 404, 404),
    ("POST", "/webhooks/{webhook_id}/rotate-secret"): Case(
        lambda s, p: (f"/webhooks/{s.webhook_id}/rotate-secret", None), 200, 404, 404
    ),
    ("POST", "/webhooks/{webhook_id}/test"): Case(lambda s, p: (f"/webhooks/{s.webhook_id}/test", None), 200, 404, 404),
    ("GET", "/webhooks/{webhook_id}/deliveries"): Case(
        lambda s, p: (f"/webhooks/{s.webhook_id}/deliveries", None), 200, 404, 404
    ),
    ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): Case(
        lambda s, p: (f"/webhooks/{s.webhook_id}/deliveries/{s.delivery_id}/redeliver", None), 200, 404, 404
    ),
    # each caller's own list: another's number is not found in it
    ("POST", "/dnc"): Case(lambda s, p: ("/dnc", {"numbers": [NUMBERS[p]]}), 200, 200, 200),
    ("GET", "/dnc"): Case(lambda s, p: ("/dnc", None), 200, 200, 200, invisible=lambda s: s.dnc_number),
    ("GET", "/dnc/{phone_number}"): Case(
        lambda s, p: (f"/dnc/%2B{s.dnc_number.removeprefix('+')}", None), 200, 404, 404
    ),
    ("DELETE", "/dnc/{phone_number}"): Case(lambda s, p: (f"/dnc/{s.dnc_number}", None), 200, 404, 404),
    ("POST", "/admin/dnc"): Case(lambda s, p: ("/admin/dnc", {"numbers": [NUMBERS[p]]}), 403, 403, 200),
    ("GET", "/admin/dnc"): Case(lambda s, p: ("/admin/dnc", None), 403, 403, 200),
    ("GET", "/admin/dnc/{phone_number}"): Case(
        lambda s, p: (f"/admin/dnc/%2B{s.global_dnc_number.removeprefix('+')}", None), 403, 403, 200
    ),
    ("DELETE", "/admin/dnc/{phone_number}"): Case(
        lambda s, p: (f"/admin/dnc/{s.global_dnc_number}", None), 403, 403, 200
    ),
    # a campaign calls from the caller's own number: another's is a 400 naming from_phone_number_id
    ("POST", "/campaigns"): Case(lambda s, p: ("/campaigns", campaign_body(s)), 201, 400, 400),
    ("GET", "/campaigns"): Case(lambda s, p: ("/campaigns", None), 200, 200, 200, invisible=lambda s: s.campaign_id),
    ("GET", "/campaigns/{campaign_id}"): Case(lambda s, p: (f"/campaigns/{s.campaign_id}", None), 200, 404, 404),
    ("POST", "/campaigns/{campaign_id}/contacts"): Case(
        lambda s, p: (f"/campaigns/{s.campaign_id}/contacts", {"contacts": [{"phone_number": NUMBERS[p]}]}),
        200,
        404,
        404,
    ),
    ("GET", "/campaigns/{campaign_id}/contacts"): Case(
        lambda s, p: (f"/campaigns/{s.campaign_id}/contacts", None), 200, 404, 404
    ),
    ("POST", "/campaigns/{campaign_id}/start"): Case(
        lambda s, p: (f"/campaigns/{s.campaign_id}/start", None), 200, 404, 404
    ),
    ("POST", "/campaigns/{campaign_id}/pause"): Case(
        lambda s, p: (f"/campaigns/{s.scheduled_campaign}/pause", None), 200, 404, 404
    ),
    ("POST", "/campaigns/{campaign_id}/resume"): Case(
        lambda s, p: (f"/campaigns/{s.paused_campaign}/resume", None), 200, 404, 404
    ),
    ("POST", "/campaigns/{campaign_id}/cancel"): Case(
        lambda s, p: (f"/campaigns/{s.campaign_id}/cancel", None), 200, 404, 404
    ),
}


def credentials(world: Any, keys: Any) -> dict[str, str | None]:
    """A token per kind of caller; None sends no Authorization header at all."""
    revoked = world.client.post("/api-keys", token=keys.alice, json_body={"name": "to revoke"}).json()
    assert world.client.delete(f"/api-keys/{revoked['key_id']}", token=keys.alice).status == 200
    now = int(time.time())
    claims = {"iss": world.issuer.url, "aud": world.issuer.audience, "sub": "usr_alice", "iat": now, "exp": now + 600}
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "owner": keys.alice,
        "other": keys.bob,
        "admin": keys.admin,
        "agent": keys.agent,
        "none": None,
        "malformed": "not-a-token",
        "revoked": revoked["api_key"],
        "expired": world.issuer.mint("usr_alice", ttl=-120),
        "foreign_jwt": jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": world.issuer.kid}),
        "alg_none": jwt.encode({**claims, "cognito:groups": ["admin"]}, None, algorithm="none"),
    }


def _order(case: Case) -> list[str]:
    """Callers expected to be refused first, so a success cannot hide a refusal that should have come."""
    return sorted(PRINCIPALS, key=lambda p: 200 <= case.expected(p) < 300)


def test_every_route_has_a_case():
    protected = {(m, p) for m, p, public in ROUTES if not public}
    figure("access.routes", f"{len(ROUTES)} ({len(protected)} protected, {len(ROUTES) - len(protected)} public)")
    missing = protected - set(CASES)
    assert not missing, f"routes without an access case in tests/gate/test_access_matrix.py: {sorted(missing)}"
    assert not set(CASES) - protected, "CASES lists routes the template no longer has"


@pytest.mark.parametrize(("method", "path", "public"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_access(world, keys, relaxed_budgets, method, path, public):
    tokens = credentials(world, keys)
    if public:
        return _public(world, tokens, method, path)
    case = CASES[(method, path)]
    seeds = Seeds(world, keys)
    seen = {}
    for principal in _order(case):
        target, body = case.request(seeds, principal)
        reply = world.client.request(method, target, token=tokens[principal], json_body=body)
        expected = case.expected(principal)
        seen[principal] = reply.status
        assert reply.status == expected, f"{principal}: {reply.status} {reply.body[:300]!r} (expected {expected})"
        if principal == "none":
            continue  # API Gateway's own 401: the authorizer is not even called without the header
        if expected >= 400:
            codes = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
            assert_error(reply, expected, codes[expected])
        elif case.invisible and principal in ("other", "admin"):
            assert case.invisible(seeds) not in reply.body.decode(), f"{principal} sees alice's resource"
    assert seen == {p: case.expected(p) for p in PRINCIPALS}
    _count("access.cells_checked", len(seen))


def _count(name: str, n: int) -> None:
    from tests.gate.conftest import FIGURES

    figure(name, FIGURES.get(name, 0) + n)


def _public(world: Any, tokens: dict[str, str | None], method: str, path: str) -> None:
    _count("access.cells_checked", len(tokens))
    for principal, token in tokens.items():
        reply = world.client.request(method, path, token=token, raw=b"{}" if method == "POST" else None)
        if path == "/livekit/webhook":
            # a Bearer credential of ours is not LiveKit's signature of the body
            assert_error(reply, 401, "unauthorized")
        else:
            assert reply.status == 200, (principal, reply.status, reply.body[:200])
    if path == "/livekit/webhook":
        _signed_webhook_is_accepted(world)


def _signed_webhook_is_accepted(world: Any) -> None:
    from livekit import api

    body = b'{"event": "room_finished", "id": "EV_gate", "room": {"name": "call_unknown"}}'
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = api.AccessToken(world.livekit.api_key, world.livekit.api_secret).with_sha256(digest).to_jwt()
    headers = {"authorization": token, "content-type": "application/webhook+json"}
    reply = world.client.post("/livekit/webhook", raw=body, headers=headers)
    assert reply.status == 200, reply.body
    tampered = world.client.post("/livekit/webhook", raw=body.replace(b"unknown", b"other"), headers=headers)
    assert_error(tampered, 401, "unauthorized")


# ---------------------------------------------------------------- fields a caller must not set

FORBIDDEN_FIELDS = {
    "status": "approved",
    "owner_id": "usr_bob",
    "user_id": "usr_bob",
    "review": {"decided_by": "usr_alice", "decided_at": "2026-01-01T00:00:00Z"},
    "decided_by": "usr_alice",
    "configuration_status": "configured",
    "answered_at": "2026-01-01T00:00:00Z",
    "revoked_at": None,
}


def _body_routes() -> list[tuple[str, str]]:
    """POST routes whose handler takes a body model, found in the functions themselves."""
    import importlib
    import inspect

    from telephony.models.common import Body

    found = []
    for function in Stack().functions().values():
        for method, path, public in function.routes:
            if method != "POST" or public:
                continue
            module = importlib.import_module(function.module)
            takes_body = any(
                isinstance(v, type) and issubclass(v, Body)
                for name, obj in vars(module).items()
                if inspect.isfunction(obj) and obj.__module__ == module.__name__ and name != "lambda_handler"
                for v in map(_unannotated, inspect.get_annotations(obj, eval_str=True).values())
            )
            if takes_body:
                found.append((method, path))
    return sorted(found)


def _unannotated(hint: Any) -> Any:
    """`CreateCall` of `Annotated[CreateCall, Body(...)]`, the way a route declares its body."""
    return typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint


BODY_ROUTES = _body_routes()


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_fields_that_set_status_owner_or_review_are_refused(world, keys, relaxed_budgets, method, path):
    case = CASES[(method, path)]
    seeds = Seeds(world, keys)
    token = keys.admin if case.admin < 300 and case.owner >= 400 else keys.alice
    target, body = case.request(seeds, "owner")
    before = world.livekit.state()["counts"]
    for name, value in FORBIDDEN_FIELDS.items():
        reply = world.client.request(method, target, token=token, json_body={**body, name: value})
        error = assert_error(reply, 400, "invalid_request")
        assert any(name in str(d.get("field", "")) for d in error["details"]), (name, error)
    assert world.livekit.state()["counts"] == before, "LiveKit was called for a refused body"
    _count("access.forbidden_fields_refused", len(FORBIDDEN_FIELDS))
    # and the same body without them is accepted: the refusal was the extra field's
    assert 200 <= world.client.request(method, target, token=token, json_body=body).status < 300
