"""The world the files in events/ expect: the ids they name, created with those exact ids.

Each step seeds one thing (and what it stands on) through the repositories and services, so
the event files stay plain, literal events that `sam local invoke -e` takes as they are.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

EVENTS = Path(__file__).resolve().parents[2] / "events"

ALICE, BOB, ADMIN = "usr_alice", "usr_bob", "usr_admin"
REQUEST_ID = "req_01m7zxwy89emgtmvx5svjhxc11"  # alice's pending request for REQUESTED_NUMBER
REQUESTED_NUMBER = "+14155550100"
NUMBER_ID = "pn_01m7zxwy89myd2gds5hffr8p28"  # alice's +14155550123, for configure / configuration
AGENT_ID = "3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
AGENT_NUMBER_ID = "pn_01m7zxwy897smg0a1s11yqpt86"  # alice's +14155550142, registered for AGENT_ID
CALL_ID = "call_01m7zxwy89bcdhmcccyvc772rz"  # alice's call from AGENT_NUMBER_ID to CALLEE, in progress
CALLEE = "+14155550188"
WEBHOOK_ID = "wh_01m7zxwy89wk3bhkq0r5x8g7tz"  # alice's webhook of every event, to a receiver nothing listens on
DELIVERY_ID = "dl_01m7zxwy89aaaaaaaaaaaaaaaa"  # its first attempt at a test event
DNC_NUMBER = "+14155550166"  # on alice's do-not-call list
GLOBAL_DNC_NUMBER = "+14155550155"  # on the operator's
CAMPAIGN_ID = "cmp_01m7zxwy89c4mpa1gn000000aa"  # alice's campaign from AGENT_NUMBER_ID, draft unless said


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: str
    owner_id: str
    role: str

    @property
    def token(self) -> str:
        return f"tpk_{self.key_id.removeprefix('ak_')}_{self.secret}"

    @property
    def authorization(self) -> str:
        return f"Bearer {self.token}"


KEYS = {
    "alice": Key("ak_01m7zxwy88dd0szkc8vxk7dey0", "example-alice-secret-for-events-only-000000", ALICE, "user"),
    "bob": Key("ak_01m7zxwy89tqsd2zmw76nvmx9w", "example-bob-secret-for-events-only-00000000", BOB, "user"),
    "admin": Key("ak_01m7zxwy897mahg1f4ekjphwmj", "example-admin-secret-for-events-only-000000", ADMIN, "admin"),
    "agent": Key("ak_01m7zxwy89nnw01mabbpv6mhna", "example-agent-secret-for-events-only-000000", ALICE, "agent"),
    "revoked": Key("ak_01m7zxwy89swnkj7sjgdtkh41n", "example-revoked-secret-for-events-only-0000", ALICE, "user"),
}

AGENT_NUMBER: dict[str, Any] = {
    "phone_number": "+14155550142",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-trunk",
    "auth_password": "example-sip-password",
    "transfer_config": {"allowed_destinations": ["tel:+15105550100"], "warm_transfer_enabled": True},
    "metadata": {"agent_name": "sales-agent"},
}


def load(stem: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{stem}.json").read_text())


def principal(name: str) -> Any:
    from telephony.models.principal import Principal

    key = KEYS[name]
    return Principal.from_context(
        {"user_id": key.owner_id, "role": key.role, "auth_type": "api_key", "key_id": key.key_id}
    )


def authorize(world: Any, authorization: str) -> dict[str, Any]:
    """What the real authorizer answers for this Authorization header."""
    event = copy.deepcopy(load("authorizer"))
    event["headers"]["authorization"] = authorization
    event["identitySource"] = [authorization]
    return dict(world.runtime.invoke("AuthorizerFunction", event))


def keys(world: Any) -> dict[str, dict[str, Any]]:
    """Every key of KEYS, then `revoked` revoked. Returns the authorizer's context per Authorization
    header as it was before the revocation (what API Gateway may still have cached)."""
    from telephony.models.principal import ApiKeyRecord
    from telephony.repositories.store import default_store
    from telephony.services import api_keys, auth
    from telephony.util import now_iso

    for name, key in KEYS.items():
        default_store().api_keys.create(
            ApiKeyRecord(
                **{
                    "key_id": key.key_id,
                    "owner_id": key.owner_id,
                    "name": f"events {name}",
                    "role": key.role,
                    "prefix": key.token[:12],
                    "secret_hash": auth.hash_secret(key.secret),
                    "created_at": now_iso(),
                }
            ),
            max_active=20,
        )
    contexts = {key.authorization: authorize(world, key.authorization)["context"] for key in KEYS.values()}
    api_keys.revoke(KEYS["revoked"].key_id, principal=principal("revoked"))
    return contexts


def request(world: Any) -> None:
    """Alice's pending request for REQUESTED_NUMBER (its workflow is not started: no task token yet)."""
    from telephony.models.budgets import NUMBER_REQUESTS
    from telephony.models.requests import RequestRecord
    from telephony.repositories.store import default_store
    from telephony.services import rate_limits
    from telephony.util import now_iso

    moment = now_iso()
    record = {
        "request_id": REQUEST_ID,
        "status": "pending",
        "user_id": ALICE,
        "phone_number": REQUESTED_NUMBER,
        "country": "US",
        "number_type": "local",
        "provider": "twilio",
        "purpose": "Support line for the voice agent",
        "created_at": moment,
        "updated_at": moment,
    }
    default_store().requests.create(
        RequestRecord.model_validate(record), charge=rate_limits.charge(NUMBER_REQUESTS, ALICE)
    )


def approved(world: Any) -> None:
    from telephony.models.requests import ApproveRequest
    from telephony.services import phone_requests

    request(world)
    phone_requests.approve(REQUEST_ID, ApproveRequest(provider="twilio"), principal=principal("admin"))


def _own_number(phone_number_id: str, e164: str) -> None:
    from telephony.util import now_iso
    from tests import seeding

    seeding.own_number(ALICE, e164, pid=phone_number_id, created_at=now_iso())


def number(world: Any) -> None:
    _own_number(NUMBER_ID, "+14155550123")


def configured(world: Any) -> None:
    """NUMBER_ID with the SIP trunks and dispatch rule of events/configure_phone_number.json, in LiveKit."""
    from telephony.models.sip import ConfigureRequest
    from telephony.services import number_config

    number(world)
    body = ConfigureRequest.model_validate_json(load("configure_phone_number")["body"])
    number_config.configure(NUMBER_ID, body, principal=principal("alice"))


def agent_number(world: Any) -> None:
    """AGENT_NUMBER_ID registered for AGENT_ID: outbound trunk, dispatch rule, an allowed transfer."""
    from telephony.models.sip import RegisterPhoneNumber
    from telephony.services import agents

    _own_number(AGENT_NUMBER_ID, AGENT_NUMBER["phone_number"])
    agents.register(AGENT_ID, RegisterPhoneNumber.model_validate(AGENT_NUMBER), principal=principal("alice"))


def call(world: Any) -> None:
    """CALL_ID placed through LiveKit (the emulator), answered and in progress."""
    from telephony.models.calls import CreateCall
    from telephony.repositories.store import default_store
    from telephony.services import calls

    agent_number(world)
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50, talk_ms=600_000)
    with mock.patch.object(calls, "new_id", lambda prefix: CALL_ID):
        calls.create(
            CreateCall(phone_number=CALLEE, from_phone_number_id=AGENT_NUMBER_ID), principal=principal("alice")
        )
    deadline = time.time() + 10
    while getattr(default_store().calls.get(CALL_ID), "status", None) != "in_progress":
        assert time.time() < deadline, "the seeded call was never answered"
        time.sleep(0.05)


def recorded_call(world: Any) -> None:
    """CALL_ID as `call` places it, but recorded: hung up once its recording started, which is then ready."""
    from telephony.models.calls import CreateCall
    from telephony.repositories.store import default_store
    from telephony.services import calls

    agent_number(world)
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50, talk_ms=600_000)
    with mock.patch.object(calls, "new_id", lambda prefix: CALL_ID):
        calls.create(
            CreateCall(phone_number=CALLEE, from_phone_number_id=AGENT_NUMBER_ID, record=True),
            principal=principal("alice"),
        )

    def recording() -> str | None:
        found = default_store().calls.get(CALL_ID)
        return found.recording.status.value if found and found.recording else None

    deadline = time.time() + 10
    while recording() != "recording":
        assert time.time() < deadline, "the seeded call's recording never started"
        time.sleep(0.05)
    calls.hangup(CALL_ID, principal=principal("alice"))
    while recording() != "ready":
        assert time.time() < deadline, "the seeded call's recording never became ready"
        time.sleep(0.05)


def webhook(world: Any) -> None:
    """WEBHOOK_ID, alice's, with DELIVERY_ID: a test event's attempt, pending."""
    from telephony import signing
    from telephony.integrations import kms
    from telephony.models.webhooks import EventType, WebhookRecord
    from telephony.repositories.store import default_store
    from telephony.services import deliveries, events
    from telephony.util import now_iso

    db, moment = default_store(), now_iso()
    record = WebhookRecord(
        webhook_id=WEBHOOK_ID,
        owner_id=ALICE,
        url="http://127.0.0.1:9/hooks",
        events=["*"],
        secret=kms.default().encrypt(signing.new_secret(), context=WEBHOOK_ID),
        created_at=moment,
        updated_at=moment,
    )
    db.webhooks.create(record, max_webhooks=10)
    test = events.event(ALICE, EventType.WEBHOOK_TEST, {"webhook_id": WEBHOOK_ID}, webhook_id=WEBHOOK_ID)
    db.events.add(test)
    attempt = deliveries.start(record, test.event_id, test.type.value, store=db)
    attempt = attempt.model_copy(update={"delivery_id": DELIVERY_ID})
    db.webhooks.add_delivery(attempt)


def dnc(world: Any) -> None:
    """DNC_NUMBER on alice's do-not-call list, GLOBAL_DNC_NUMBER on the operator's."""
    from telephony.models.dnc import AddDncNumbers
    from telephony.services import dnc as lists

    lists.add(AddDncNumbers(numbers=[DNC_NUMBER], reason="asked not to be called"), principal=principal("alice"))
    lists.add(AddDncNumbers(numbers=[GLOBAL_DNC_NUMBER]), principal=principal("admin"), global_list=True)


def dnc_callee(world: Any) -> None:
    """Everything a call to DNC_NUMBER needs, and DNC_NUMBER listed."""
    agent_number(world)
    dnc(world)


def campaign(world: Any) -> None:
    """CAMPAIGN_ID, a draft of two contacts from AGENT_NUMBER_ID."""
    from telephony.models.campaigns import CreateCampaign
    from telephony.services import campaigns

    agent_number(world)
    body = CreateCampaign.model_validate(
        {
            "name": "seeded",
            "from_phone_number_id": AGENT_NUMBER_ID,
            "contacts": [{"phone_number": "+14155550101"}, {"phone_number": "+14155550102"}],
        }
    )
    with mock.patch.object(campaigns, "new_id", lambda prefix: CAMPAIGN_ID):
        campaigns.create(body, principal=principal("alice"))


def campaign_scheduled(world: Any) -> None:
    """CAMPAIGN_ID started, waiting for a start time years away."""
    from telephony.models.campaigns import CampaignSchedule
    from telephony.repositories.store import default_store
    from telephony.services import campaigns

    campaign(world)
    db = default_store()
    record = db.campaigns.get(CAMPAIGN_ID)
    assert record is not None
    later = CampaignSchedule(start_at="2099-01-01T00:00:00Z").model_dump(mode="json")
    db.campaigns.transition(record, record.status, expect=(record.status,), sets={"schedule": later})
    campaigns.start(CAMPAIGN_ID, principal=principal("alice"))


def campaign_paused(world: Any) -> None:
    from telephony.services import campaigns

    campaign_scheduled(world)
    campaigns.pause(CAMPAIGN_ID, principal=principal("alice"))


STEPS = {
    f.__name__: f
    for f in (
        request,
        approved,
        number,
        configured,
        agent_number,
        call,
        recorded_call,
        webhook,
        dnc,
        dnc_callee,
        campaign,
        campaign_scheduled,
        campaign_paused,
    )
}

# What each event needs besides the keys: by file stem, else by function folder.
NEEDS: dict[str, str] = {
    "create_phone_number_request.conflict": "request",
    "get_phone_number_request": "request",
    "list_phone_number_requests": "request",
    "list_review_queue": "request",
    "approve_phone_number_request": "request",
    "reject_phone_number_request": "request",
    "await_review": "request",
    "assign_number": "approved",
    "assign_number.conflict": "request",
    "expire_request": "request",
    "record_request_failure": "request",
    "list_phone_numbers": "configured",
    "configure_phone_number": "number",
    "get_phone_number_configuration": "configured",
    "delete_phone_number_configuration": "configured",
    "register_agent_phone_number.conflict": "agent_number",
    "list_agent_phone_numbers": "agent_number",
    "unregister_agent_phone_number": "agent_number",
    "create_call": "agent_number",
    "create_call.conflict": "",
    "get_call_details": "call",
    "get_call_stats": "call",
    "list_calls": "call",
    "hangup_call": "call",
    "get_call_recording": "recorded_call",
    "delete_call_recording": "recorded_call",
    "transfer_call": "call",
    "post_call_events": "call",
    "livekit_webhook": "call",
    "summarize_call": "call",
    "get_webhook": "webhook",
    "update_webhook": "webhook",
    "delete_webhook": "webhook",
    "rotate_webhook_secret": "webhook",
    "test_webhook": "webhook",
    "list_webhook_deliveries": "webhook",
    "redeliver_webhook_delivery": "webhook",
    "deliver_webhook": "webhook",
    "dispatch_events": "webhook",
    "create_call.forbidden": "dnc_callee",
    "list_dnc_numbers": "dnc",
    "get_dnc_number": "dnc",
    "delete_dnc_number": "dnc",
    "admin_list_dnc_numbers": "dnc",
    "admin_get_dnc_number": "dnc",
    "admin_delete_dnc_number": "dnc",
    "create_campaign": "agent_number",
    "get_campaign": "campaign",
    "get_campaign.not_found": "",
    "list_campaigns": "campaign",
    "add_campaign_contacts": "campaign",
    "list_campaign_contacts": "campaign",
    "start_campaign": "campaign",
    "pause_campaign": "campaign_scheduled",
    "pause_campaign.conflict": "campaign",
    "resume_campaign": "campaign_paused",
    "cancel_campaign": "campaign",
    "campaign_tick": "campaign",
}


def seed_for(world: Any, stem: str) -> dict[str, dict[str, Any]]:
    """Seed what the event `stem` needs; returns the authorizer contexts of the keys (see `keys`)."""
    contexts = keys(world)
    step = NEEDS.get(stem, NEEDS.get(stem.partition(".")[0], ""))
    if step:
        STEPS[step](world)
    return contexts
