"""livekit.SIP, its calls: dialling out into a room and transferring the call (livekit-server pkg/service/sip.go).

What the call does once dialled (ringing, the callee's outcome, hang-up) is in calls.py.
"""

from __future__ import annotations

import random
from typing import Any

from livekit.protocol import models as models_pb
from livekit.protocol import sip as sip_pb

from .. import calls, ids, rooms
from ..auth import Grants
from ..messages import clone, duration_seconds
from ..model import (
    ATTR_CALL_ID,
    ATTR_CALL_STATUS,
    ATTR_HOSTNAME,
    ATTR_PHONE_NUMBER,
    ATTR_TRUNK_ID,
    ATTR_TRUNK_NUMBER,
    Call,
    Participant,
    now_ms,
)
from ..runtime import Handler, Runtime
from ..twirp import TwirpError, sip_trunk_not_found
from ..validation import InvalidArgument, PlainError, as_twirp, validate_create_sip_participant, validate_transfer

SIP_DEFAULT_RINGING_TIMEOUT = 180.0  # livekit/sip defaultRingingTimeout
SIP_MAX_CALL_DURATION = 24 * 3600.0
WAIT_UNTIL_ANSWERED_TIMEOUT = 80.0  # livekit-server CreateSIPParticipant with wait_until_answered
TRANSFER_DEFAULT_RINGING_TIMEOUT = 30.0


def create_sip_participant(
    rt: Runtime, g: Grants, req: sip_pb.CreateSIPParticipantRequest
) -> sip_pb.SIPParticipantInfo:
    """Dials ``sip_call_to`` through the trunk: a SIP participant joins the room (created if absent) and the call
    plays the outcome set for that number. With ``wait_until_answered`` the request waits for that outcome."""
    g.ensure_sip_call()
    try:
        validate_create_sip_participant(req)
    except (PlainError, InvalidArgument) as e:
        raise as_twirp(e, wrap=True) from None
    call_id = ids.new_id(ids.SIP_CALL)
    with rt.lock:
        trunk: sip_pb.SIPOutboundTrunkInfo | None = None
        if req.sip_trunk_id:
            trunk = rt.state.outbound_trunks.get(req.sip_trunk_id)
            if trunk is None:
                raise sip_trunk_not_found()
        if trunk is not None:
            hostname = trunk.address
        elif req.HasField("trunk"):
            hostname = req.trunk.hostname
        else:
            hostname = ""
        number = req.sip_number
        if not number:
            if trunk is None or not trunk.numbers:
                raise TwirpError("failed_precondition", "no numbers on outbound trunk")
            number = random.choice(list(trunk.numbers))  # noqa: S311 - LiveKit picks one at random too  # nosec B311
        if hostname.endswith("twilio.com") and not number.startswith("+"):
            number = "+" + number

        attrs = dict(req.participant_attributes)
        attrs[ATTR_CALL_ID] = call_id
        attrs[ATTR_TRUNK_ID] = req.sip_trunk_id or (trunk.sip_trunk_id if trunk is not None else "")
        if not req.hide_phone_number:
            attrs[ATTR_PHONE_NUMBER] = req.sip_call_to
            attrs[ATTR_HOSTNAME] = hostname
            attrs[ATTR_TRUNK_NUMBER] = number
        attrs[ATTR_CALL_STATUS] = "dialing"
        identity = req.participant_identity or "sip_" + req.sip_call_to

        ringing_timeout = duration_seconds(req, "ringing_timeout") or SIP_DEFAULT_RINGING_TIMEOUT
        max_call_duration = duration_seconds(req, "max_call_duration")
        if max_call_duration is not None and (max_call_duration <= 0 or max_call_duration > SIP_MAX_CALL_DURATION):
            max_call_duration = SIP_MAX_CALL_DURATION

        room, _ = rooms.ensure_room(rt, req.room_name)
        participant = Participant(
            sid=ids.new_id(ids.PARTICIPANT),
            identity=identity,
            name=req.participant_name,
            metadata=req.participant_metadata,
            attributes=attrs,
            kind=models_pb.ParticipantInfo.Kind.SIP,
        )
        record: dict[str, Any] = {
            "sip_call_id": call_id,
            "participant_id": participant.sid,
            "identity": identity,
            "trunk_phone_number": number,
            "hostname": hostname,
            "ringing_timeout_seconds": duration_seconds(req, "ringing_timeout"),
            "max_call_duration_seconds": duration_seconds(req, "max_call_duration"),
            "status": "dialing",
            "call_status": "dialing",
            "created_at_ms": now_ms(),
        }
        call = Call(
            sip_call_id=call_id,
            room_name=room.name,
            identity=identity,
            participant_sid=participant.sid,
            outcome=rt.state.outcomes.resolve(req.sip_call_to),
            wait=req.wait_until_answered,
            record=record,
            request=clone(req),
            ringing_timeout=ringing_timeout,
            max_call_duration=max_call_duration,
        )
        record["outcome"] = call.outcome.as_dict()
        participant.call = call
        rt.state.add_call(call)
        rooms.join(rt, room, participant)
        calls.start(rt, call)
        info = sip_pb.SIPParticipantInfo(
            participant_id=participant.sid,
            participant_identity=identity,
            room_name=req.room_name,
            sip_call_id=call_id,
        )
    if not req.wait_until_answered:
        return info
    if not call.done.wait(WAIT_UNTIL_ANSWERED_TIMEOUT):
        raise TwirpError("deadline_exceeded", "request timed out")
    if call.error is not None:
        raise call.error
    return info


def transfer_sip_participant(
    rt: Runtime, g: Grants, req: sip_pb.TransferSIPParticipantRequest
) -> sip_pb.TransferSIPParticipantResponse:
    """A SIP REFER of an answered call. It always succeeds; the participant leaves a moment later (the peer's BYE)."""
    if not req.room_name:
        raise TwirpError("invalid_argument", "Missing room name")
    if not req.participant_identity:
        raise TwirpError("invalid_argument", "Missing participant identity")
    g.ensure_sip_call()
    g.ensure_room_admin(req.room_name)
    try:
        refer_to = validate_transfer(req)
    except (PlainError, InvalidArgument) as e:
        raise as_twirp(e, wrap=True) from None
    with rt.lock:
        _, p = rooms.find_participant(rt, req.room_name, req.participant_identity)
        call_id = p.attributes.get(ATTR_CALL_ID)
        if call_id is None:
            raise TwirpError("invalid_argument", "no SIP session associated with participant")
        call = rt.state.calls.get(call_id)
        if call is None or call.status != "active":
            raise TwirpError("failed_precondition", "can't transfer non established call")
        if call.transfer_to is not None:
            if call.transfer_to != refer_to:
                raise TwirpError("invalid_argument", "call already being transferred elsewhere")
            return clone(call.transfer_response)
        ringing_timeout = duration_seconds(req, "ringing_timeout")
        transfer_id = ids.new_id(ids.SIP_TRANSFER)
        rt.state.transfers.append(
            {
                "transfer_id": transfer_id,
                "room": req.room_name,
                "identity": req.participant_identity,
                "sip_call_id": call_id,
                "transfer_to": req.transfer_to,
                "refer_to": refer_to,
                "play_dialtone": req.play_dialtone,
                "headers": dict(req.headers),
                "ringing_timeout_seconds": (
                    ringing_timeout if ringing_timeout is not None else TRANSFER_DEFAULT_RINGING_TIMEOUT
                ),
                "at_ms": now_ms(),
            }
        )
        call.record["transferred_to"] = refer_to
        resp = sip_pb.TransferSIPParticipantResponse(
            transfer_id=transfer_id,
            status=sip_pb.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL,
            reason=sip_pb.SIPTransferReason.STR_COMPLETED,
        )
        resp.sip_status.code = 200  # type: ignore[assignment]
        resp.sip_status.status = "OK"
        call.transfer_to = refer_to
        call.transfer_response = resp
        calls.hang_up_later(rt, call, rt.transfer_hangup_delay, "transferred")
        return clone(resp)


METHODS: dict[str, Handler] = {
    "CreateSIPParticipant": create_sip_participant,
    "TransferSIPParticipant": transfer_sip_participant,
}
