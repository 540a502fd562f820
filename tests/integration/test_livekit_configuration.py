"""Number configuration and agent registration against the LiveKit emulator, through the real handlers."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from tests import seeding
from tests.support import assert_error

AGENT = str(uuid.UUID(int=7))
TWILIO = {
    "phone_number": "+14155550142",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-user",
    "auth_password": "CANARY-sip-password-91d2",
    "transfer_config": {"allowed_destinations": ["tel:+15105550100"]},
}
CONFIGURE = {
    "sip_trunk": {
        "name": "main",
        "address": "sip.telnyx.com",
        "numbers": ["+14155550123"],
        "auth_username": "u1",
        "auth_password": "CANARY-configure-pw",
    },
    "dispatch_rule": {"rule_name": "support", "room_prefix": "support-", "agent_name": "support-agent"},
}


def own_number(user_id: str, e164: str = "+14155550123") -> str:
    return seeding.own_number(user_id, e164, id_prefix="pn_test")


def livekit_ids(world: Any) -> set[str]:
    state = world.livekit.state()
    return {t["sipTrunkId"] for t in state["inbound_trunks"] + state["outbound_trunks"]} | {
        r["sipDispatchRuleId"] for r in state["dispatch_rules"]
    }


def table_ids(world: Any) -> set[str]:
    from telephony.repositories.store import default_store

    ids: set[str] = set()
    for user in ("usr_alice", "usr_bob"):
        items, _ = default_store().numbers.list_by_owner(user, limit=100, token=None)
        for item in items:
            ids |= {v for v in item.livekit.model_dump().values() if v}
    return ids


def assert_no_orphans(world: Any) -> None:
    assert livekit_ids(world) == table_ids(world)


def test_configure_creates_trunks_and_rule_and_hides_the_password(world, keys):
    pid = own_number("usr_alice")
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["configuration_status"] == "configured"
    assert body["sip_trunk"]["inbound_trunk_id"].startswith("ST_")
    assert body["sip_trunk"]["outbound_trunk_id"].startswith("ST_")
    assert body["sip_trunk"]["auth_configured"] is True
    assert body["dispatch_rule"]["dispatch_rule_id"].startswith("SDR_")
    assert b"CANARY" not in reply.body
    state = world.livekit.state()
    (rule,) = state["dispatch_rules"]
    assert rule["trunkIds"] == [body["sip_trunk"]["inbound_trunk_id"]]
    assert rule["roomConfig"]["agents"][0]["agentName"] == "support-agent"
    (outbound,) = state["outbound_trunks"]
    assert outbound["address"] == "sip.telnyx.com" and outbound["numbers"] == ["+14155550123"]

    got = world.client.get(f"/outbound-calls/phone-numbers/{pid}/configuration", token=keys.alice)
    assert got.json() == body and b"CANARY" not in got.body
    listed = world.client.get("/outbound-calls/phone-numbers", token=keys.alice).json()["items"]
    assert listed[0]["configuration_status"] == "configured"
    assert_no_orphans(world)


def test_a_rule_without_a_trunk_takes_only_calls_to_its_own_number(world, keys):
    """LiveKit's rule with neither trunk ids nor numbers is the project's wildcard: every tenant's calls."""
    alice = own_number("usr_alice")
    bob = seeding.own_number("usr_bob", "+14155550177", id_prefix="pn_test")
    for owner, pid, agent in ((keys.alice, alice, "alice-agent"), (keys.bob, bob, "bob-agent")):
        rule_only = {"dispatch_rule": {**CONFIGURE["dispatch_rule"], "agent_name": agent}}
        reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=owner, json_body=rule_only)
        assert reply.status == 200, reply.body
    rules = world.livekit.state()["dispatch_rules"]
    assert sorted((r.get("numbers"), r.get("trunkIds")) for r in rules) == [
        (["+14155550123"], None),
        (["+14155550177"], None),
    ]
    assert_no_orphans(world)


def test_reconfigure_replaces_in_place(world, keys):
    pid = own_number("usr_alice")
    first = world.client.post(
        f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE
    ).json()
    changed = {"dispatch_rule": {"rule_name": "sales", "room_prefix": "sales-", "agent_name": "sales-agent"}}
    second = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=changed)
    assert second.status == 200, second.body
    assert second.json()["dispatch_rule"]["dispatch_rule_id"] == first["dispatch_rule"]["dispatch_rule_id"]
    assert second.json()["sip_trunk"] == first["sip_trunk"]
    (rule,) = world.livekit.state()["dispatch_rules"]
    assert rule["roomConfig"]["agents"][0]["agentName"] == "sales-agent"
    assert_no_orphans(world)


@pytest.mark.parametrize(("config_type", "left"), [("dispatch_rule", 2), ("sip_trunk", 1), ("all", 0)])
def test_delete_configuration_removes_it_in_livekit_first(world, keys, config_type, left):
    pid = own_number("usr_alice")
    world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    reply = world.client.delete(
        f"/outbound-calls/phone-numbers/{pid}/configuration?config_type={config_type}", token=keys.alice
    )
    assert reply.status == 200, reply.body
    assert len(livekit_ids(world)) == left
    assert_no_orphans(world)


def test_delete_configuration_needs_a_known_config_type(world, keys):
    pid = own_number("usr_alice")
    for query in ("?config_type=trunks", ""):
        reply = world.client.delete(f"/outbound-calls/phone-numbers/{pid}/configuration{query}", token=keys.alice)
        assert_error(reply, 400, "invalid_request")


def test_another_users_number_is_not_found(world, keys):
    pid = own_number("usr_alice")
    assert_error(
        world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.bob, json_body=CONFIGURE), 404
    )
    assert_error(world.client.get(f"/outbound-calls/phone-numbers/{pid}/configuration", token=keys.bob), 404)
    assert livekit_ids(world) == set()


def test_a_trunk_cannot_claim_someone_elses_number(world, keys):
    pid = own_number("usr_alice")
    own_number("usr_bob", "+14155550199")
    body = {"sip_trunk": {**CONFIGURE["sip_trunk"], "numbers": ["+14155550123", "+14155550199"]}}
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=body)
    assert_error(reply, 400, "invalid_request")
    assert livekit_ids(world) == set()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "169.254.169.254",
        "[::1]:5060",
        "localhost",
        "sip:pstn.twilio.com",
        "user@pstn.twilio.com",
        "pstn.twilio.com;transport=tcp",
        "metadata.google.internal",
        "intranet",
    ],
)
def test_unsafe_trunk_addresses_are_refused_before_livekit(world, keys, address):
    pid = own_number("usr_alice")
    body = {"sip_trunk": {**CONFIGURE["sip_trunk"], "address": address}}
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=body)
    assert_error(reply, 400, "invalid_request")
    assert world.livekit.state()["counts"] == {}


@pytest.mark.parametrize("method", ["CreateSIPInboundTrunk", "CreateSIPOutboundTrunk", "CreateSIPDispatchRule"])
@pytest.mark.parametrize("code", ["unavailable", "internal"])
def test_a_fault_at_any_configure_step_leaves_no_orphan(world, keys, method, code):
    pid = own_number("usr_alice")
    world.livekit.add_fault(method, code, times=1)
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    assert_error(reply, 503 if code == "unavailable" else 502)
    assert livekit_ids(world) == set()
    assert_no_orphans(world)
    again = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    assert again.status == 200, again.body
    assert_no_orphans(world)


def _answer_lost(monkeypatch, create: str, *, lookups_fail: int = 0) -> None:
    """LiveKit makes the resource, then the answer is lost (a read timeout); the first lookups fail too."""
    from telephony.errors import UpstreamUnavailable
    from telephony.integrations import livekit as lk

    original, find = getattr(lk.LiveKit, create), lk.LiveKit.find
    failing = [lookups_fail]

    def lost(self, *args):
        original(self, *args)
        monkeypatch.setattr(lk.LiveKit, create, original)
        raise UpstreamUnavailable("LiveKit is unreachable; retry shortly")

    def flaky_find(self, *args, **kwargs):
        if failing[0]:
            failing[0] -= 1
            raise UpstreamUnavailable("LiveKit is unreachable; retry shortly")
        return find(self, *args, **kwargs)

    monkeypatch.setattr(lk.LiveKit, create, lost)
    monkeypatch.setattr(lk.LiveKit, "find", flaky_find)


@pytest.mark.parametrize("create", ["create_inbound_trunk", "create_outbound_trunk", "create_dispatch_rule"])
def test_a_create_whose_answer_was_lost_is_found_and_taken_over(world, keys, monkeypatch, create):
    pid = own_number("usr_alice")
    _answer_lost(monkeypatch, create)
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    assert reply.status == 200, reply.body
    assert len(livekit_ids(world)) == 3
    assert_no_orphans(world)


def test_a_resource_left_by_a_lost_answer_is_taken_over_by_the_next_configure(world, keys, monkeypatch):
    """The lookup fails too: the request fails and LiveKit keeps a trunk the table does not know, which would
    make LiveKit refuse every later trunk for the number; the next configure finds it by its marker."""
    pid = own_number("usr_alice")
    _answer_lost(monkeypatch, "create_inbound_trunk", lookups_fail=1)
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    assert_error(reply, 503)
    (stray,) = livekit_ids(world)
    assert table_ids(world) == set()
    again = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    assert again.status == 200, again.body
    assert again.json()["sip_trunk"]["inbound_trunk_id"] == stray
    assert len(livekit_ids(world)) == 3
    assert_no_orphans(world)


@pytest.mark.parametrize("method", ["UpdateSIPOutboundTrunk", "UpdateSIPDispatchRule"])
def test_a_fault_during_reconfigure_restores_the_previous_configuration(world, keys, method):
    pid = own_number("usr_alice")
    first = world.client.post(
        f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE
    ).json()
    world.livekit.add_fault(method, "unavailable", times=1)
    changed = {
        "sip_trunk": {**CONFIGURE["sip_trunk"], "name": "renamed", "address": "sip2.telnyx.com"},
        "dispatch_rule": {"rule_name": "other", "room_prefix": "other-", "agent_name": "other-agent"},
    }
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=changed)
    assert_error(reply, 503, "service_unavailable")
    state = world.livekit.state()
    assert [t["address"] for t in state["outbound_trunks"]] == ["sip.telnyx.com"]
    assert [t["name"] for t in state["inbound_trunks"]] == ["main"]
    assert state["dispatch_rules"][0]["roomConfig"]["agents"][0]["agentName"] == "support-agent"
    got = world.client.get(f"/outbound-calls/phone-numbers/{pid}/configuration", token=keys.alice).json()
    assert got == first


def test_livekit_refusing_input_is_400_with_its_code_not_its_text(world, keys):
    pid = own_number("usr_alice")
    world.livekit.add_fault("CreateSIPInboundTrunk", "invalid_argument", times=1, msg="numbers are weird")
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    error = assert_error(reply, 400, "invalid_request")
    assert "numbers are weird" not in reply.body.decode()  # LiveKit's own words go to the log only
    assert {"livekit_code": "invalid_argument"} in error["details"]


def test_livekit_conflict_is_409(world, keys):
    pid = own_number("usr_alice")
    world.livekit.add_fault("CreateSIPDispatchRule", "already_exists", times=1)
    reply = world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE)
    assert_error(reply, 409, "conflict")
    assert_no_orphans(world)


def test_register_a_twilio_number_with_outbound(world, keys):
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO)
    assert reply.status == 201, reply.body
    body = reply.json()
    assert b"CANARY" not in reply.body
    assert body["sip_uri"] == "sip:+14155550142@dev.sip.livekit.local"
    assert body["dispatch_rule_id"].startswith("SDR_") and body["outbound_trunk_id"].startswith("ST_")
    assert body["outbound_enabled"] is True and body["outbound_address"] == "example.pstn.twilio.com"
    assert body["provider"] == "twilio" and body["agent_id"] == AGENT and body["status"] == "active"
    assert any("REFER" in step for step in body["instructions"]["steps"])
    assert {p["name"] for p in body["supported_providers"]} >= {"livekit", "twilio", "vonage", "telnyx", "plivo"}
    assert body["room_pattern"].startswith("agent-") and body["inbound_addresses"]
    state = world.livekit.state()
    (inbound,) = state["inbound_trunks"]
    assert inbound["numbers"] == ["+14155550142"] and inbound["authUsername"] == "lk-user"
    assert state["dispatch_rules"][0]["roomConfig"]["agents"][0]["agentName"] == AGENT
    listed = world.client.get(f"/agents/{AGENT}/phone-numbers", token=keys.alice).json()["items"]
    assert [n["phone_number_id"] for n in listed] == [body["phone_number_id"]]
    assert b"CANARY" not in world.client.get(f"/agents/{AGENT}/phone-numbers", token=keys.alice).body
    # registering it again (by anyone) is a conflict
    assert_error(world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.bob, json_body=TWILIO), 409)
    assert_error(world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO), 409)
    assert_no_orphans(world)


def test_the_sip_password_is_kept_in_secrets_manager(world, keys):
    from telephony import aws
    from telephony.repositories.store import default_store

    body = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO).json()
    record = default_store().numbers.get(body["phone_number_id"])
    assert record is not None and "CANARY" not in str(record)
    secret = aws.client("secretsmanager").get_secret_value(SecretId=record.auth_secret_arn)["SecretString"]
    assert "CANARY-sip-password-91d2" in secret


def test_unregister_removes_everything(world, keys):
    body = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO).json()
    gone = world.client.delete(f"/agents/{AGENT}/phone-numbers/{body['phone_number_id']}", token=keys.alice)
    assert gone.status == 200, gone.body
    assert livekit_ids(world) == set()
    assert world.client.get(f"/agents/{AGENT}/phone-numbers", token=keys.alice).json()["items"] == []
    # the number is free again
    bobs = {**TWILIO, "metadata": {"agent_name": "bob-agent"}}  # alice's agent stays hers
    assert world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.bob, json_body=bobs).status == 201


@pytest.mark.parametrize("method", ["CreateSIPInboundTrunk", "CreateSIPOutboundTrunk", "CreateSIPDispatchRule"])
def test_a_fault_at_any_register_step_leaves_nothing(world, keys, method):
    world.livekit.add_fault(method, "unavailable", times=1)
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO)
    assert_error(reply, 503, "service_unavailable")
    assert livekit_ids(world) == set()
    assert world.client.get("/outbound-calls/phone-numbers", token=keys.alice).json()["items"] == []
    assert world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO).status == 201
    assert_no_orphans(world)


def _assigned(world: Any, keys: Any, e164: str) -> str:
    """`e164` assigned to alice through an approved request (a LiveKit number is held no other way)."""
    from tests.integration.test_phone_number_requests import wait_for_status

    rid = world.client.post(
        "/telephony/phone-number-requests", token=keys.alice, json_body={"phone_number": e164}
    ).json()["request_id"]
    approved = world.client.post(
        f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={"provider": "livekit"}
    )
    assert approved.status == 200, approved.body
    return str(wait_for_status(world, keys.alice, rid, "assigned")["phone_number_id"])


def test_livekit_numbers_need_only_a_dispatch_rule(world, keys):
    _assigned(world, keys, "+14155550177")
    body = {"phone_number": "+14155550177", "provider": "livekit"}
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body)
    assert reply.status == 201, reply.body
    state = world.livekit.state()
    assert state["inbound_trunks"] == [] and state["outbound_trunks"] == []
    assert state["dispatch_rules"][0]["numbers"] == ["+14155550177"]


def test_unregistering_a_number_assigned_through_a_request_gives_its_provider_back(world, keys):
    from tests.integration.test_phone_number_requests import wait_for_status

    rid = world.client.post(
        "/telephony/phone-number-requests", token=keys.alice, json_body={"phone_number": TWILIO["phone_number"]}
    ).json()["request_id"]
    approved = world.client.post(
        f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={"provider": "telnyx"}
    )
    assert approved.status == 200, approved.body
    pid = wait_for_status(world, keys.alice, rid, "assigned")["phone_number_id"]

    def provider() -> str:
        (item,) = world.client.get("/outbound-calls/phone-numbers", token=keys.alice).json()["items"]
        return str(item["provider"])

    assert provider() == "telnyx"
    registered = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO)
    assert registered.status == 201 and registered.json()["phone_number_id"] == pid, registered.body
    assert provider() == "twilio"
    assert world.client.delete(f"/agents/{AGENT}/phone-numbers/{pid}", token=keys.alice).status == 200
    assert provider() == "telnyx"  # the number stays the user's, as it was assigned


def test_a_livekit_numbers_caller_allow_list_is_its_rules(world, keys):
    """No trunk of ours to hold `allowed_numbers`: the rule filters the callers (it was accepted and dropped)."""
    _assigned(world, keys, "+14155550177")
    body = {"phone_number": "+14155550177", "provider": "livekit", "allowed_numbers": ["+14155550100"]}
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body)
    assert reply.status == 201, reply.body
    (rule,) = world.livekit.state()["dispatch_rules"]
    assert rule["numbers"] == ["+14155550177"] and rule["inboundNumbers"] == ["+14155550100"]


def test_a_registered_numbers_configuration_follows_its_registration(world, keys):
    """configure would replace the registration's trunks with bare ones (its IP allow-list, encryption, privacy
    and agent lost) and leave the registration describing nothing: it is refused, as is deleting it apart."""
    pid = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=TWILIO).json()[
        "phone_number_id"
    ]
    before = world.livekit.state()
    own_trunk = {**CONFIGURE, "sip_trunk": {**CONFIGURE["sip_trunk"], "numbers": [TWILIO["phone_number"]]}}
    configure = world.client.post(
        f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=own_trunk
    )
    assert_error(configure, 409, "conflict")
    delete = world.client.delete(f"/outbound-calls/phone-numbers/{pid}/configuration?config_type=all", token=keys.alice)
    assert_error(delete, 409, "conflict")
    after = world.livekit.state()
    assert [after[k] for k in ("inbound_trunks", "outbound_trunks", "dispatch_rules")] == [
        before[k] for k in ("inbound_trunks", "outbound_trunks", "dispatch_rules")
    ]
    assert world.client.get(f"/outbound-calls/phone-numbers/{pid}/configuration", token=keys.alice).status == 200


def test_a_new_inbound_trunk_takes_the_rule_of_the_one_removed(world, keys):
    pid = own_number("usr_alice")
    path = f"/outbound-calls/phone-numbers/{pid}"
    assert world.client.post(f"{path}/configure", token=keys.alice, json_body=CONFIGURE).status == 200
    removed = world.client.delete(f"{path}/configuration?config_type=sip_trunk", token=keys.alice)
    assert removed.status == 200 and removed.json()["configuration_status"] == "partial"
    again = world.client.post(f"{path}/configure", token=keys.alice, json_body={"sip_trunk": CONFIGURE["sip_trunk"]})
    assert again.status == 200, again.body
    assert again.json()["configuration_status"] == "configured"
    (rule,) = world.livekit.state()["dispatch_rules"]
    assert rule["trunkIds"] == [again.json()["sip_trunk"]["inbound_trunk_id"]]
    assert_no_orphans(world)


def test_a_trunk_may_list_only_numbers_its_owner_holds_not_merely_requested(world, keys):
    requested = world.client.post(
        "/telephony/phone-number-requests", token=keys.alice, json_body={"phone_number": "+14155550199"}
    )
    assert requested.status == 201, requested.body
    body = {**TWILIO, "trunk_numbers": ["+14155550142", "+14155550199"]}
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body)
    assert_error(reply, 400, "invalid_request")
    assert world.livekit.state()["inbound_trunks"] == []


def test_outbound_enabled_is_an_alias_and_defaults_apply(world, keys):
    body = {
        "phone_number": "+14155550178",
        "provider": "telnyx",
        "outbound_enabled": True,
        "auth_username": "u",
        "auth_password": "p",
    }
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body)
    assert reply.status == 201, reply.body
    assert reply.json()["outbound_address"] == "sip.telnyx.com"


@pytest.mark.parametrize(
    "change",
    [
        {"outbound_transport": "SCTP"},
        {"media_encryption": "MAYBE"},
        {"ringing_timeout_seconds": 0},
        {"ringing_timeout_seconds": 301},
        {"max_call_duration_seconds": 59},
        {"max_call_duration_seconds": 86401},
        {"destination_country": "USA"},
        {"provider": "skype"},
        {"phone_number": "555-0142"},
        {"custom_headers": {"Via": "x"}},
        {"custom_headers": {"X-LK-Inbound": "x"}},
        {"custom_headers": {"X-Tenant": "a\r\nX-Evil: 1"}},
        {"outbound_address": "192.168.1.10"},
        {"allowed_addresses": ["not-an-ip"]},
        {
            "provider": "vonage",
            "outbound_address": "demo.sip-us.vonage.com",
            "auth_password": None,
            "auth_username": None,
        },
        {"surprise": True},
    ],
)
def test_register_validation(world, keys, change):
    body = {**TWILIO, **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body), 400)
    assert world.livekit.state()["counts"] == {}


def test_agent_id_must_be_a_uuid(world, keys):
    assert_error(world.client.post("/agents/not-a-uuid/phone-numbers", token=keys.alice, json_body=TWILIO), 400)


def test_configurations_are_limited_to_ten_an_hour(world, keys):
    pid = own_number("usr_alice")
    body = {"dispatch_rule": CONFIGURE["dispatch_rule"]}
    statuses = [
        world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=body).status
        for _ in range(11)
    ]
    assert statuses == [200] * 10 + [429]


def _alice() -> Any:
    from telephony.models.principal import Principal, Role

    return Principal(user_id="usr_alice", role=Role.USER, auth_type="api_key")


def _another_request_saves(pid: str) -> None:
    """What a concurrent configuration does from end to end: lock the number as it is now, save, unlock."""
    from telephony.repositories.store import default_store
    from telephony.services import number_config

    db = default_store()
    record = number_config.owned(pid, _alice(), db)
    db.numbers.lock(record, token="other", now=int(time.time()), charge=None)
    db.numbers.release(pid, token="other", updated_at="2026-01-02T00:00:00.000Z")


def test_the_lock_is_taken_only_on_the_revision_that_was_read(world, keys):
    from telephony.errors import NumberChanged, NumberLocked
    from telephony.repositories.store import default_store
    from telephony.services import number_config

    db = default_store()
    pid = own_number("usr_alice")
    never_saved = number_config.owned(pid, _alice(), db)
    assert never_saved.revision is None
    _another_request_saves(pid)
    saved_once = number_config.owned(pid, _alice(), db)
    assert saved_once.revision == 1
    with pytest.raises(NumberChanged):
        db.numbers.lock(never_saved, token="mine", now=int(time.time()), charge=None)
    db.numbers.lock(saved_once, token="mine", now=int(time.time()), charge=None)
    with pytest.raises(NumberLocked):  # held (and not expired): busy, not changed
        db.numbers.lock(saved_once, token="third", now=int(time.time()), charge=None)
    lock = number_config.owned(pid, _alice(), db).config_lock
    assert lock is not None and lock.token == "mine"


def test_a_save_between_the_read_and_the_lock_means_reading_again(world, keys):
    from telephony.repositories.store import default_store
    from telephony.services import number_config

    db = default_store()
    pid = own_number("usr_alice")
    seen: list[int | None] = []

    def prepare(record: Any) -> str:
        seen.append(record.revision)
        if len(seen) == 1:
            _another_request_saves(pid)  # lands after our read, before our lock
        return f"plan from revision {record.revision}"

    record, plan = number_config.locked(pid, _alice(), token="mine", db=db, budget=False, prepare=prepare)
    assert seen == [None, 1]
    assert record.revision == 1 and plan == "plan from revision 1"
    lock = number_config.owned(pid, _alice(), db).config_lock
    assert lock is not None and lock.token == "mine"


def test_a_number_that_keeps_changing_is_a_409_and_spends_no_configuration(world, keys):
    from telephony.errors import Conflict, NumberChanged
    from telephony.repositories.store import default_store
    from telephony.services import number_config

    db = default_store()
    pid = own_number("usr_alice")
    attempts: list[int] = []

    def prepare(record: Any) -> None:
        attempts.append(1)
        _another_request_saves(pid)

    with pytest.raises(Conflict) as refused:
        number_config.locked(pid, _alice(), token="mine", db=db, prepare=prepare)
    assert not isinstance(refused.value, NumberChanged)
    assert len(attempts) == 3
    assert number_config.owned(pid, _alice(), db).config_lock is None
    for _ in range(10):  # the ten configurations an hour are all still there
        reply = world.client.post(
            f"/outbound-calls/phone-numbers/{pid}/configure",
            token=keys.alice,
            json_body={"dispatch_rule": {"rule_name": "r", "room_prefix": "r-", "agent_name": "a"}},
        )
        assert reply.status == 200, reply.body


def test_configure_and_delete_read_the_number_once(world, keys):
    from telephony import aws

    pid = own_number("usr_alice")
    reads: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == os.environ["NUMBERS_TABLE"]:
            reads.append(params["Key"]["pk"]["S"])

    aws.dynamodb().meta.events.register("provide-client-params.dynamodb.GetItem", count)
    try:
        reply = world.client.post(
            f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=CONFIGURE
        )
        assert reply.status == 200, reply.body
        assert len(reads) == 1
        reads.clear()
        gone = world.client.delete(
            f"/outbound-calls/phone-numbers/{pid}/configuration?config_type=all", token=keys.alice
        )
        assert gone.status == 200, gone.body
        assert len(reads) == 1
    finally:
        aws.dynamodb().meta.events.unregister("provide-client-params.dynamodb.GetItem", count)
    assert_no_orphans(world)


def test_an_agents_numbers_come_in_full_pages_whatever_else_its_owner_holds(world, keys):
    """The agent's list is read from its own index: pages of `limit` numbers, not of the owner's numbers
    filtered afterwards (short or empty pages with a `next_token`, when the owner holds others)."""
    other_agent = str(uuid.UUID(int=8))
    mine = []
    for i in range(3):
        own_number("usr_alice", f"+1415555020{i}")  # the owner's other numbers, between the agent's
        body = {**TWILIO, "phone_number": f"+1415555030{i}"}
        reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body)
        assert reply.status == 201, reply.body
        mine.append(reply.json()["phone_number_id"])
        own_number("usr_alice", f"+1415555040{i}")
    other = {**TWILIO, "phone_number": "+14155550500"}
    assert world.client.post(f"/agents/{other_agent}/phone-numbers", token=keys.alice, json_body=other).status == 201
    pages, token = [], None
    while True:
        query = "?limit=2" + (f"&next_token={token}" if token else "")
        reply = world.client.get(f"/agents/{AGENT}/phone-numbers{query}", token=keys.alice)
        assert reply.status == 200, reply.body
        pages.append([n["phone_number_id"] for n in reply.json()["items"]])
        token = reply.json().get("next_token")
        if not token:
            break
    assert [len(page) for page in pages] == [2, 1]
    assert sorted(pid for page in pages for pid in page) == sorted(mine)
    assert world.client.get(f"/agents/{AGENT}/phone-numbers", token=keys.bob).json()["items"] == []
    # unregistered, a number leaves its agent's list
    gone = world.client.delete(f"/agents/{AGENT}/phone-numbers/{mine[0]}", token=keys.alice)
    assert gone.status == 200, gone.body
    listed = world.client.get(f"/agents/{AGENT}/phone-numbers", token=keys.alice).json()["items"]
    assert sorted(n["phone_number_id"] for n in listed) == sorted(mine[1:])
