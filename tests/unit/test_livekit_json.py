"""The layer speaks Twirp's JSON (ADR 0010): every request it builds is the message livekit-protocol
would build, under LiveKit's own field and enum names, and webhook events read as protobuf reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from livekit.protocol import agent_dispatch, models, room, sip, webhook

from telephony.integrations import livekit as lk
from telephony.models.sip import DispatchRule, InboundTrunk, OutboundTrunk

ROOT = Path(__file__).resolve().parents[2]

INBOUND = InboundTrunk(
    name="pn_1 inbound",
    numbers=["+14155550100"],
    allowed_addresses=["203.0.113.0/24"],
    allowed_numbers=["+14155550111"],
    auth_username="user",
    has_password=True,
    headers={"X-A": "1"},
    headers_to_attributes={"X-B": "b"},
    krisp_enabled=True,
    ringing_timeout_seconds=25,
    max_call_duration_seconds=900,
    media_encryption="REQUIRE",
    metadata='{"phone_number_id": "pn_1"}',
)
OUTBOUND = OutboundTrunk(
    name="pn_1 outbound",
    address="sip.example.com",
    numbers=["+14155550100"],
    transport="TLS",
    destination_country="US",
    auth_username="user",
    has_password=True,
    headers={"X-A": "1"},
    media_encryption="ALLOW",
    metadata="m",
)
RULE = DispatchRule(
    name="pn_1 rule",
    room_prefix="call-",
    agent_name="agent-7",
    trunk_ids=["ST_abc"],
    numbers=["+14155550100"],
    inbound_numbers=["+14155550111"],
    hide_phone_number=True,
    krisp_enabled=True,
    agent_metadata='{"a": 1}',
    metadata="m",
)
DIAL = lk.Dial(
    trunk_id="ST_abc",
    to="+14155550123",
    room="call_1",
    identity="sip-call_1",
    from_number="+14155550100",
    name="Callee",
    metadata="{}",
    attributes={"call_id": "call_1"},
    dtmf="1234#",
    headers={"X-C": "c"},
    ringing_timeout_seconds=30,
    max_call_duration_seconds=3600,
    krisp_enabled=True,
    hide_phone_number=True,
    play_dialtone=True,
)


def _as_livekit_reads_it(request: dict[str, Any], message_type: Any) -> dict[str, Any]:
    """Parsed as LiveKit's server parses the JSON (an unknown name or a bad value fails here), and written
    back under the proto names: what it understood of the request."""
    message = json_format.ParseDict(request, message_type(), ignore_unknown_fields=False)
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _without_defaults(value: Any) -> Any:
    """What protobuf keeps of a request: proto3 leaves out empty strings, lists, maps, false and zero."""
    if isinstance(value, dict):
        kept = {k: _without_defaults(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ("", [], {}, False, 0)}
    if isinstance(value, list):
        return [_without_defaults(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("request_json", "message_type"),
    [
        ({"trunk": lk._inbound_info(INBOUND, "pass")}, sip.CreateSIPInboundTrunkRequest),
        ({"sip_trunk_id": "ST_abc", "replace": lk._inbound_info(INBOUND, "pass")}, sip.UpdateSIPInboundTrunkRequest),
        ({"trunk": lk._outbound_info(OUTBOUND, "pass")}, sip.CreateSIPOutboundTrunkRequest),
        ({"sip_trunk_id": "ST_abc", "replace": lk._outbound_info(OUTBOUND, "pass")}, sip.UpdateSIPOutboundTrunkRequest),
        ({"dispatch_rule": lk._rule_info(RULE)}, sip.CreateSIPDispatchRuleRequest),
        ({"sip_dispatch_rule_id": "SDR_x", "replace": lk._rule_info(RULE)}, sip.UpdateSIPDispatchRuleRequest),
        (lk.dial_request(DIAL), sip.CreateSIPParticipantRequest),
    ],
    ids=["inbound", "inbound-replace", "outbound", "outbound-replace", "rule", "rule-replace", "dial"],
)
def test_every_request_is_livekits_own_message_and_nothing_we_send_is_lost(request_json, message_type) -> None:
    assert _as_livekit_reads_it(request_json, message_type) == _without_defaults(request_json)


def test_the_requests_carry_every_setting_in_livekits_terms() -> None:
    dial = json_format.ParseDict(lk.dial_request(DIAL), sip.CreateSIPParticipantRequest())
    assert dial.ringing_timeout.seconds == 30 and dial.max_call_duration.seconds == 3600
    assert dial.participant_attributes == {"call_id": "call_1"} and dial.play_dialtone and not dial.wait_until_answered
    inbound = json_format.ParseDict(lk._inbound_info(INBOUND, "pass"), sip.SIPInboundTrunkInfo())
    assert inbound.media_encryption == sip.SIP_MEDIA_ENCRYPT_REQUIRE and inbound.ringing_timeout.seconds == 25
    outbound = json_format.ParseDict(lk._outbound_info(OUTBOUND, "pass"), sip.SIPOutboundTrunkInfo())
    assert outbound.transport == sip.SIP_TRANSPORT_TLS
    rule = json_format.ParseDict(lk._rule_info(RULE), sip.SIPDispatchRuleInfo())
    assert rule.rule.dispatch_rule_individual.room_prefix == "call-"
    assert [(a.agent_name, a.metadata) for a in rule.room_config.agents] == [("agent-7", '{"a": 1}')]
    # an inbound trunk without timeouts leaves them unset (LiveKit's defaults), as before
    bare = lk._inbound_info(InboundTrunk(name="n", numbers=["+14155550100"]), "")
    assert "ringing_timeout" not in bare and "max_call_duration" not in bare


def test_the_other_requests_name_livekits_fields() -> None:
    for request_json, message_type in [
        ({"sip_trunk_id": "ST_abc"}, sip.DeleteSIPTrunkRequest),
        ({"sip_dispatch_rule_id": "SDR_x"}, sip.DeleteSIPDispatchRuleRequest),
        ({"agent_name": "a", "room": "call_1", "metadata": "m"}, agent_dispatch.CreateAgentDispatchRequest),
        ({"room": "call_1"}, room.DeleteRoomRequest),
        (
            {"room_name": "r", "participant_identity": "i", "transfer_to": "tel:+1", "play_dialtone": True},
            sip.TransferSIPParticipantRequest,
        ),
    ]:
        assert _as_livekit_reads_it(request_json, message_type) == request_json


def test_the_disconnect_reasons_are_livekits() -> None:
    assert list(lk._DISCONNECT_REASONS) == [v.name for v in models.DisconnectReason.DESCRIPTOR.values]


def _event(**fields: Any) -> webhook.WebhookEvent:
    return json_format.ParseDict(fields, webhook.WebhookEvent())


@pytest.mark.parametrize("proto_names", [False, True], ids=["camelCase (LiveKit's webhooks)", "proto names"])
def test_webhook_events_read_as_protobuf_reads_them(proto_names: bool) -> None:
    event = _event(
        event="participant_left",
        id="EV_1",
        created_at="1795350747",
        room={"name": "call_1", "sid": "RM_x"},
        participant={
            "identity": "sip-call_1",
            "attributes": {"sip.callStatus": "hangup"},
            "disconnect_reason": "USER_REJECTED",
            "kind": "SIP",
            "metadata": "telephony-api +14155550100 rule",
        },
    )
    body = json.dumps(json_format.MessageToDict(event, preserving_proto_field_name=proto_names))
    parsed = lk.WebhookEvent.parse(body)
    assert parsed == lk.WebhookEvent(
        event="participant_left",
        id="EV_1",
        created_at=1795350747,
        room_name="call_1",
        participant=lk.Participant(
            "sip-call_1", {"sip.callStatus": "hangup"}, "USER_REJECTED", "SIP", "telephony-api +14155550100 rule"
        ),
    )


def test_participant_kinds_are_livekits() -> None:
    assert {v.number: v.name for v in models.ParticipantInfo.Kind.DESCRIPTOR.values} == lk._KINDS
    agent = lk.WebhookEvent.parse(json.dumps({"participant": {"identity": "a", "kind": 4}}))
    assert agent.participant is not None and agent.participant.kind == "AGENT"
    standard = lk.WebhookEvent.parse(json.dumps({"participant": {"identity": "a"}}))
    assert standard.participant is not None and standard.participant.kind == "STANDARD"


def test_webhook_defaults_numbers_and_bad_shapes() -> None:
    bare = lk.WebhookEvent.parse(json.dumps(json_format.MessageToDict(_event(event="room_started"))))
    assert (bare.room_name, bare.participant, bare.created_at, bare.id) == (None, None, 0, "")
    numeric = lk.WebhookEvent.parse(json.dumps({"event": "participant_left", "participant": {"disconnectReason": 11}}))
    assert numeric.participant is not None and numeric.participant.disconnect_reason == "USER_UNAVAILABLE"
    no_reason = lk.WebhookEvent.parse(json.dumps({"participant": {"identity": "x"}}))
    assert no_reason.participant is not None and no_reason.participant.disconnect_reason == "UNKNOWN_REASON"
    for body in ["[]", '{"room": "call_1"}', '{"event": 5}', '{"participant": {"disconnectReason": []}}', "{x"]:
        with pytest.raises(ValueError):
            lk.WebhookEvent.parse(body)


def test_the_layer_never_imports_protobuf() -> None:
    """A fresh interpreter builds every request and reads a webhook: neither protobuf nor livekit loads."""
    child = (
        "import sys, json\n"
        "from telephony.integrations import livekit as lk\n"
        "from telephony.services import call_lifecycle\n"
        "from telephony.models.sip import DispatchRule, InboundTrunk, OutboundTrunk\n"
        "lk.dial_request(lk.Dial('ST_a', '+14155550123', 'call_1', 'sip-call_1'))\n"
        "lk._rule_info(DispatchRule(name='n', room_prefix='call-', agent_name='agent'))\n"
        "lk._inbound_info(InboundTrunk(name='n', numbers=['+14155550100'], ringing_timeout_seconds=5), '')\n"
        "lk._outbound_info(OutboundTrunk(name='n', address='sip.example.com', numbers=['+14155550100']), '')\n"
        "lk.WebhookEvent.parse(json.dumps({'event': 'participant_left', 'participant': {'disconnectReason': 1}}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('google', 'livekit')))\n"
    )
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]))
    done = subprocess.run([sys.executable, "-c", child], env=environment, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_recording_request_is_livekits_room_composite_egress_request() -> None:
    from livekit.protocol import egress

    key_pair = lk.Upload(bucket="b", region="us-east-1", endpoint="http://127.0.0.1:5000", access_key="AK", secret="S")
    role = lk.Upload(bucket="b", region="eu-west-1", assume_role_arn="arn:aws:iam::1:role/r", external_id="x")
    for upload in (key_pair, role):
        request_json = lk.recording_request("call_1", "recordings/u/call_1.ogg", upload)
        assert _as_livekit_reads_it(request_json, egress.RoomCompositeEgressRequest) == _without_defaults(request_json)
    parsed = json_format.ParseDict(
        lk.recording_request("call_1", "recordings/u/call_1.ogg", role), egress.RoomCompositeEgressRequest()
    )
    assert parsed.audio_only and parsed.audio_mixing == egress.DUAL_CHANNEL_AGENT
    (output,) = parsed.file_outputs
    assert output.file_type == egress.OGG and output.disable_manifest and output.filepath == "recordings/u/call_1.ogg"
    assert (output.s3.assume_role_arn, output.s3.assume_role_external_id) == ("arn:aws:iam::1:role/r", "x")
    assert not output.s3.access_key and not output.s3.endpoint  # AWS's own S3, no key sent
    with_key = json_format.ParseDict(
        lk.recording_request("call_1", "k", key_pair), egress.RoomCompositeEgressRequest()
    ).file_outputs[0]
    assert (with_key.s3.access_key, with_key.s3.endpoint, with_key.s3.force_path_style) == (
        "AK",
        "http://127.0.0.1:5000",
        True,
    )


def test_an_egress_webhook_reads_as_protobuf_writes_it() -> None:
    from livekit.protocol import egress

    info = egress.EgressInfo(
        egress_id="EG_abc",
        room_name="call_1",
        status=egress.EGRESS_COMPLETE,
        started_at=1_700_000_000_000_000_000,
        ended_at=1_700_000_003_500_000_000,
    )
    info.file_results.append(
        egress.FileInfo(filename="recordings/u/call_1.ogg", duration=3_500_000_000, size=4096, location="s3://x")
    )
    event = webhook.WebhookEvent(event="egress_ended", id="EV_1", created_at=1_700_000_004, egress_info=info)
    parsed = lk.WebhookEvent.parse(json.dumps(json_format.MessageToDict(event)))
    assert parsed.egress == lk.Egress(
        egress_id="EG_abc",
        room_name="call_1",
        status="EGRESS_COMPLETE",
        started_at=1_700_000_000_000_000_000,
        ended_at=1_700_000_003_500_000_000,
        error="",
        file=lk.EgressFile(filename="recordings/u/call_1.ogg", duration_ns=3_500_000_000, size=4096, location="s3://x"),
    )
    assert not parsed.egress.live and parsed.room_name is None
    # Twirp's answer (proto names, the status as a name) reads the same
    answer = json_format.MessageToDict(info, preserving_proto_field_name=True)
    assert lk._egress(answer) == parsed.egress
    starting = lk._egress({"egress_id": "EG_abc", "room_name": "call_1"})
    assert starting.status == "EGRESS_STARTING" and starting.live and starting.file is None
