"""Inbound calls (POST /_emulator/inbound): trunks and dispatch rules matched as LiveKit matches them, the caller's
SIP participant and the agent in the room, and calls that match nothing rejected."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from emulator_helpers import Client, WebhookSink
from google.protobuf import duration_pb2
from livekit import api

OURS = "+14155550100"
CALLER = "+14155559876"


def _trunk(client: Client, numbers: list[str] | None = None, **kw: Any) -> str:
    info = api.SIPInboundTrunkInfo(name="in", numbers=[OURS] if numbers is None else numbers, **kw)
    made = client(lambda lk: lk.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=info)))
    return str(made.sip_trunk_id)


def _rule(client: Client, trunk_ids: list[str], rule: api.SIPDispatchRule | None = None, **kw: Any) -> str:
    rule = rule or api.SIPDispatchRule(dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="support"))
    info = api.SIPDispatchRuleInfo(
        name="r",
        rule=rule,
        trunk_ids=trunk_ids,
        metadata=kw.pop("metadata", "telephony-api +14155550100 rule"),
        room_config=api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name="receptionist")]),
        **kw,
    )
    made = client(lambda lk: lk.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=info)))
    return str(made.sip_dispatch_rule_id)


def _place(client: Client, **payload: Any) -> dict[str, Any]:
    status, body = client.control("POST", "inbound", {"from": CALLER, "to": OURS, **payload})
    assert status == 200, body
    return dict(body)


def _participant(client: Client, room: str, identity: str) -> dict[str, Any]:
    rooms = {r["name"]: r for r in client.state()["rooms"]}
    return next(p for p in rooms[room]["participants"] if p["identity"] == identity)


def _wait(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_a_call_to_a_trunk_number_joins_a_room_of_the_rule_and_the_agent_answers(
    client: Client, webhook_sink: WebhookSink
) -> None:
    client.control("POST", "webhook", {"url": webhook_sink.url})
    trunk = _trunk(client)
    rule = _rule(client, [trunk])

    placed = _place(client, answer_after_ms=50, talk_ms=100)

    # Then LiveKit's individual rule names the room after its prefix and the caller, with a random tail
    assert placed["ok"] and placed["result"] == "accepted" and (placed["trunk_id"], placed["rule_id"]) == (trunk, rule)
    room = placed["room"]
    assert room.startswith(f"support_{CALLER}_") and len(room) == len(f"support_{CALLER}_") + 12
    joined = _participant(client, room, f"sip_{CALLER}")
    assert joined["kind"] == "SIP" and joined["metadata"] == "telephony-api +14155550100 rule"
    attributes = joined["attributes"]
    assert attributes["sip.ruleID"] == rule and attributes["sip.trunkID"] == trunk
    assert attributes["sip.phoneNumber"] == CALLER and attributes["sip.trunkPhoneNumber"] == OURS
    assert attributes["sip.callStatus"] == "ringing" and attributes["sip.callID"] == placed["sip_call_id"]
    assert [d["agentName"] for d in client.state()["dispatches"]] == ["receptionist"]

    # When the agent answers and the caller hangs up after talking, the room empties and closes
    events = webhook_sink.wait(7)
    kinds = [(e.event, e.participant.identity if e.participant.identity else None) for e in events]
    assert kinds[:3] == [
        ("room_started", None),
        ("participant_joined", f"sip_{CALLER}"),
        ("track_published", f"sip_{CALLER}"),
    ]
    agent_joined = events[3]
    assert (
        agent_joined.event == "participant_joined" and agent_joined.participant.kind == api.ParticipantInfo.Kind.AGENT
    )
    left = next(e for e in events if e.event == "participant_left" and e.participant.identity == f"sip_{CALLER}")
    assert left.participant.disconnect_reason == api.DisconnectReason.CLIENT_INITIATED
    assert left.participant.attributes["sip.callStatus"] == "hangup"
    assert any(e.event == "participant_left" and e.participant.kind == api.ParticipantInfo.Kind.AGENT for e in events)
    (record,) = [c for c in client.state()["calls"] if c["sip_call_id"] == placed["sip_call_id"]]
    assert record["direction"] == "inbound" and record["result"] == "answered" and record["end"] == "caller_hangup"


def test_a_rule_that_hides_the_caller_hashes_its_identity_and_leaves_its_number_out(client: Client) -> None:
    _rule(client, [_trunk(client)], hide_phone_number=True)
    placed = _place(client)
    identity = "sip_" + hashlib.sha256(CALLER.encode()).digest()[:8].hex()
    assert placed["identity"] == identity
    joined = _participant(client, placed["room"], identity)
    assert joined["name"] == "Phone 9876" and placed["room"].startswith("support_9876_")
    assert not {"sip.phoneNumber", "sip.trunkPhoneNumber", "sip.hostname"} & set(joined["attributes"])


def test_the_callers_hang_up_ends_a_ringing_call_as_a_cancel(client: Client) -> None:
    _rule(client, [_trunk(client)])
    placed = _place(client, answer_after_ms=60_000)
    status, body = client.control("POST", "hangup", {"room": placed["room"]})
    assert status == 200 and body["calls"] == 1
    left = [e for e in client.events(placed["room"]) if e["event"] == "participant_left"]
    assert left and left[0]["participant_identity"] == placed["identity"]
    (record,) = [c for c in client.state()["calls"] if c["sip_call_id"] == placed["sip_call_id"]]
    assert record["result"] == "caller_hangup" and record["disconnect_reason"] == "CLIENT_INITIATED"


def test_a_number_no_trunk_takes_is_rejected_and_reported_without_a_room(client: Client) -> None:
    _rule(client, [_trunk(client, numbers=["+14155550199"])])
    placed = _place(client)
    assert placed["ok"] is False and placed["result"] == "rejected"
    assert (placed["reason"], placed["sip_status_code"]) == ("no_trunk", 404)
    state = client.state()
    assert state["rooms"] == [] and state["inbound"][-1]["result"] == "rejected"


def test_a_trunk_without_a_rule_rejects_the_call(client: Client) -> None:
    _trunk(client)
    placed = _place(client)
    assert (placed["result"], placed["reason"], placed["sip_status"]) == (
        "rejected",
        "no_dispatch_rule",
        "Does not match Trunks or Dispatch Rules",
    )


def test_allowed_numbers_and_addresses_filter_the_trunks(client: Client) -> None:
    _rule(
        client,
        [_trunk(client, allowed_numbers=["+14155550001"], allowed_addresses=["10.0.0.0/8"])],
    )
    assert _place(client, source_ip="10.1.2.3")["reason"] == "no_trunk"  # the caller is not allowed
    assert _place(client, **{"from": "+14155550001"}, source_ip="192.0.2.1")["reason"] == "no_trunk"
    assert _place(client, **{"from": "+1 (415) 555-0001"}, source_ip="10.1.2.3")["result"] == "accepted"


def test_a_default_trunk_takes_numbers_no_trunk_names(client: Client) -> None:
    trunk = _trunk(client, numbers=[], allowed_addresses=["192.0.2.0/24"])
    _rule(client, [trunk])
    assert _place(client, source_ip="192.0.2.7")["trunk_id"] == trunk


def test_each_rule_type_names_its_room(client: Client) -> None:
    rules = {
        "+14155550101": api.SIPDispatchRule(dispatch_rule_callee=api.SIPDispatchRuleCallee(room_prefix="line")),
        "+14155550102": api.SIPDispatchRule(dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name="lobby")),
        "+14155550103": api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="", no_randomness=True)
        ),
    }
    for number, rule in rules.items():
        _rule(client, [_trunk(client, numbers=[number])], rule)
    assert _place(client, to="+14155550101")["room"] == "line_+14155550101"
    assert _place(client, to="+14155550102")["room"] == "lobby"
    assert _place(client, to="+14155550103")["room"] == CALLER


def test_a_pin_protected_rule_comes_first_and_takes_the_callers_who_give_its_pin(client: Client) -> None:
    trunk = _trunk(client)
    _rule(client, [trunk])
    protected = _rule(
        client,
        [trunk],
        api.SIPDispatchRule(dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name="vault", pin="4321")),
    )
    placed = _place(client, pin="4321")
    assert placed["rule_id"] == protected and placed["room"] == "vault"
    assert _participant(client, "vault", placed["identity"])["attributes"]["sip.callStatus"] == "active"
    # LiveKit would prompt a caller who gave no PIN: the emulator cannot, so it refuses the call
    assert _place(client)["reason"] == "pin_required"


def test_a_rule_of_a_named_caller_wins_over_an_open_one(client: Client) -> None:
    trunk = _trunk(client)
    _rule(client, [trunk])
    vip = _rule(
        client,
        [trunk],
        api.SIPDispatchRule(dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="vip")),
        inbound_numbers=[CALLER],
    )
    assert _place(client)["rule_id"] == vip
    assert _place(client, **{"from": "+14155550002"})["room"].startswith("support_")


def test_a_caller_nobody_answers_gives_up_when_the_ringing_time_is_over(client: Client) -> None:
    trunk = _trunk(client, ringing_timeout=duration_pb2.Duration(seconds=1))
    _rule(client, [trunk])
    placed = _place(client, answer_after_ms=5_000)

    def ended() -> bool:
        return any(
            c["sip_call_id"] == placed["sip_call_id"] and c["status"] == "ended" for c in client.state()["calls"]
        )

    _wait(ended, timeout=5)
    left = [e for e in client.events(placed["room"]) if e["event"] == "participant_left"]
    assert left[0]["participant_identity"] == placed["identity"]
