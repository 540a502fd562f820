"""How a call's recording follows what LiveKit says of its egress (services/recordings.py), and whether a call is
recorded at all."""

from __future__ import annotations

import pytest

from telephony.integrations.livekit import Egress, EgressFile
from telephony.models.calls import CallRecord, CallStatus, RecordingRecord, RecordingStatus
from telephony.models.numbers import NumberRecord
from telephony.models.sip import AgentFeatures, CallSettings
from telephony.services import recordings

KEY = "recordings/usr_alice/call_1.ogg"


def _call(recording: RecordingRecord | None = None) -> CallRecord:
    return CallRecord(
        call_id="call_1",
        owner_id="usr_alice",
        status=CallStatus.COMPLETED,
        phone_number="+14155550199",
        from_number="+14155550100",
        room_name="call_1",
        participant_identity="sip-call_1",
        created_at="2026-01-01T10:00:00.000Z",
        created_epoch=1767261600,
        record=True,
        recording=recording,
    )


def _egress(status: str, *, egress_id: str = "EG_1", file: EgressFile | None = None, error: str = "") -> Egress:
    return Egress(egress_id, "call_1", status, 1767261605 * 10**9, 1767261615 * 10**9, error, file)


def _number(features: AgentFeatures | None) -> NumberRecord:
    return NumberRecord(
        phone_number_id="pn_1",
        phone_number="+14155550100",
        owner_id="usr_alice",
        created_at="2026-01-01T10:00:00.000Z",
        updated_at="2026-01-01T10:00:00.000Z",
        call_settings=CallSettings(agent_features=features) if features else None,
    )


def test_a_call_is_recorded_as_it_says_else_as_its_number_says():
    assert recordings.wanted(True, _number(None)) is True
    assert recordings.wanted(False, _number(AgentFeatures())) is False
    assert recordings.wanted(None, _number(AgentFeatures())) is True  # seed 000's default
    assert recordings.wanted(None, _number(AgentFeatures(recording_enabled=False))) is False
    assert recordings.wanted(None, _number(None)) is False


def test_a_complete_egress_makes_the_recording_ready_with_its_file():
    file = EgressFile(filename=KEY, duration_ns=10_250_000_000, size=9000, location="s3://b/" + KEY)
    decided = recordings._of_egress(_egress("EGRESS_COMPLETE", file=file), KEY)(_call())
    assert decided is not None
    assert (decided.status, decided.duration_seconds, decided.size_bytes) == (RecordingStatus.READY, 10.25, 9000)
    assert (decided.started_at, decided.ended_at) == ("2026-01-01T10:00:05.000Z", "2026-01-01T10:00:15.000Z")
    assert decided.object_key == KEY and decided.egress_id == "EG_1"


def test_a_failed_or_fileless_egress_fails_the_recording_with_our_own_words():
    failed = recordings._of_egress(_egress("EGRESS_FAILED", error="s3: AccessDenied for arn:..."), KEY)(_call())
    assert failed is not None and (failed.status, failed.error) == (RecordingStatus.FAILED, "egress_failed")
    fileless = recordings._of_egress(_egress("EGRESS_COMPLETE"), KEY)(_call())
    assert fileless is not None and fileless.error == "no_file"
    aborted = recordings._of_egress(_egress("EGRESS_ABORTED"), KEY)(_call())
    assert aborted is not None and aborted.error == "egress_aborted"


def test_another_egress_of_the_room_is_not_the_calls_recording():
    known = RecordingRecord(status=RecordingStatus.RECORDING, egress_id="EG_1", object_key=KEY)
    assert recordings._of_egress(_egress("EGRESS_FAILED", egress_id="EG_other"), KEY)(_call(known)) is None


def test_a_live_egress_reported_before_the_start_was_written_is_recording():
    decided = recordings._of_egress(_egress("EGRESS_ACTIVE"), KEY)(_call())
    assert decided is not None and decided.status is RecordingStatus.RECORDING
    assert decided.egress_id == "EG_1" and decided.object_key == KEY


def test_a_recording_never_moves_back():
    from tests.unit.fakes import fake_store

    ready = RecordingRecord(status=RecordingStatus.READY, egress_id="EG_1", object_key=KEY)
    late = recordings._of_egress(_egress("EGRESS_ACTIVE"), KEY)
    # nothing is written (the store's recordings are not expected to be used at all)
    assert recordings.advance(_call(ready), late, fake_store()) is None
    deleted = RecordingRecord(status=RecordingStatus.DELETED, egress_id="EG_1", object_key=KEY)
    file = EgressFile(filename=KEY, duration_ns=1, size=1, location="")
    assert (
        recordings.advance(
            _call(deleted), recordings._of_egress(_egress("EGRESS_COMPLETE", file=file), KEY), fake_store()
        )
        is None
    )


def test_an_inbound_calls_recording_is_not_found_on_the_outbound_path():
    from telephony.errors import NotFound
    from telephony.models.calls import Direction
    from tests.unit.fakes import ALICE, FakeCalls, fake_store

    call = _call(RecordingRecord(status=RecordingStatus.FAILED, error="start_failed: unavailable"))
    store = fake_store(calls=FakeCalls(call.model_copy(update={"direction": Direction.INBOUND})))
    with pytest.raises(NotFound):
        recordings.get("call_1", principal=ALICE, direction=Direction.OUTBOUND, store=store)
    assert recordings.get("call_1", principal=ALICE, store=store).status is RecordingStatus.FAILED
    with pytest.raises(NotFound):
        recordings.delete("call_1", principal=ALICE, direction=Direction.OUTBOUND, store=store)
