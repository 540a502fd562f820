"""The reliability gate for call recordings: a refused egress start, a lost `egress_ended`, another user's reach, the
link's expiry, and the egress stopping with the call."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import httpx

from tests.gate.conftest import call_status, place_call, recording_status, register, wait_for
from tests.support import assert_error

RECORDED = "+14155550134"
SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def _metrics(out: str) -> dict[str, float]:
    """The CloudWatch metrics (embedded metric format) the functions printed, summed by name."""
    found: dict[str, float] = {}
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = record[metric["Name"]]
                total = sum(values) if isinstance(values, list) else values
                found[metric["Name"]] = found.get(metric["Name"], 0) + total
    return found


def _bucket(world: Any) -> str:
    (name,) = world.stack.buckets()
    return str(name)


def test_a_refused_egress_start_leaves_the_call_going_and_the_recording_failed(world, keys, capsys):
    register(world, keys.alice)
    world.livekit.add_fault("StartRoomCompositeEgress", "unavailable", times=1)
    call_id = place_call(world, keys.alice, RECORDED, record=True)

    recording = recording_status(world, keys.alice, call_id, "failed")
    assert recording["error"] == "start_failed: unavailable" and recording["egress_id"] is None
    # the call goes on: still answered, and hung up as usual
    assert call_status(world, keys.alice, call_id, "in_progress")["record"] is True
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    assert world.livekit.state()["egresses"] == []
    assert _metrics(capsys.readouterr().out).get("RecordingsFailed") == 1
    # a failed recording is shown with its reason, and has no file to link to
    got = world.client.get(f"/outbound-calls/{call_id}/recording", token=keys.alice)
    assert got.status == 200 and got.json()["status"] == "failed" and got.json()["url"] is None


def test_a_lost_egress_ended_is_reconciled_from_list_egress(world, keys):
    from telephony.repositories import dynamo
    from telephony.repositories import keys as item_keys

    register(world, keys.alice)
    call_id = place_call(world, keys.alice, RECORDED, record=True)
    recording_status(world, keys.alice, call_id, "recording")
    world.livekit.webhook_url = None  # LiveKit's webhooks are lost from here on
    time.sleep(0.3)
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    deadline = time.time() + 5
    while world.livekit.state()["egresses"][0]["status"] != "EGRESS_COMPLETE":
        assert time.time() < deadline, world.livekit.state()["egresses"]
        time.sleep(0.05)

    # Given a call that ended a moment ago: the scheduled reconcile leaves its recording alone
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["settled"] == 0
    assert recording_status(world, keys.alice, call_id, "recording")
    # When it ended 11 minutes ago
    long_ago = (datetime.now(UTC) - timedelta(minutes=11)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    boto3.client("dynamodb").update_item(
        TableName=world.stack.physical_name("CallsTable"),
        Key=dynamo.marshal(item_keys.call(call_id)),
        UpdateExpression="SET ended_at = :at",
        ExpressionAttributeValues=dynamo.values(at=long_ago),
    )
    answer = world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)
    # Then it is settled as LiveKit lists its egress: ready, with the file LiveKit uploaded
    assert answer == {"settled": 1, "still_going": 0, "unmarked": 0, "started": 0}
    ready = recording_status(world, keys.alice, call_id, "ready")
    assert ready["size_bytes"] > 0 and ready["duration_seconds"] > 0
    assert world.livekit.state()["counts"]["ListEgress"] == 1
    key = f"recordings/usr_alice/{call_id}.ogg"
    assert boto3.client("s3").head_object(Bucket=_bucket(world), Key=key)["ContentLength"] == ready["size_bytes"]
    # and a second run finds nothing more to do
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT) == {
        "settled": 0,
        "still_going": 0,
        "unmarked": 0,
        "started": 0,
    }


def test_a_recording_lost_by_livekit_is_failed_by_the_reconcile(world, keys):
    from telephony.services import recordings

    register(world, keys.alice)
    call_id = place_call(world, keys.alice, RECORDED, record=True)
    recording_status(world, keys.alice, call_id, "recording")
    world.livekit.webhook_url = None
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    world.livekit.reset()  # LiveKit forgets the egress
    settled = recordings.reconcile(at=datetime.now(UTC) + timedelta(minutes=11))
    assert settled.settled == 1
    failed = recording_status(world, keys.alice, call_id, "failed")
    assert failed["error"] == "egress_lost"


def test_another_users_recording_is_not_found_and_stays(world, keys):
    register(world, keys.alice)
    call_id = place_call(world, keys.alice, RECORDED, record=True)
    recording_status(world, keys.alice, call_id, "recording")
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    recording_status(world, keys.alice, call_id, "ready")
    for token in (keys.bob, keys.admin):
        assert_error(world.client.get(f"/outbound-calls/{call_id}/recording", token=token), 404, "not_found")
        assert_error(world.client.delete(f"/outbound-calls/{call_id}/recording", token=token), 404, "not_found")
    key = f"recordings/usr_alice/{call_id}.ogg"
    assert boto3.client("s3").head_object(Bucket=_bucket(world), Key=key)["ContentLength"] > 0
    assert world.client.get(f"/outbound-calls/{call_id}/recording", token=keys.alice).status == 200
    # an id that is no call of ours at all is the same 404
    assert_error(world.client.get("/outbound-calls/call_nothing/recording", token=keys.alice), 404, "not_found")


def _ready_link(world: Any, keys: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A recorded call hung up, its recording ready: (call id, recording, the GET of its recording)."""
    register(world, keys.alice)
    call_id = place_call(world, keys.alice, RECORDED, record=True)
    recording_status(world, keys.alice, call_id, "recording")
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    ready = recording_status(world, keys.alice, call_id, "ready")
    got = world.client.get(f"/outbound-calls/{call_id}/recording", token=keys.alice)
    assert got.status == 200, got.body
    return call_id, ready, got.json()


def _s3_error(reply: httpx.Response) -> dict[str, str]:
    return {element.tag: element.text or "" for element in ET.fromstring(reply.content)}


def test_the_link_downloads_the_recording_until_its_five_minutes_have_passed(world, keys):
    """S3 honours a SigV4 presigned GET until X-Amz-Date + X-Amz-Expires, then refuses it; the local S3 does the same
    (local/presigned.py), on a clock the test moves forward instead of waiting five minutes."""
    asked = datetime.now(UTC)
    _, ready, link = _ready_link(world, keys)
    query = dict(parse_qsl(urlsplit(link["url"]).query))
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((signed_at - asked).total_seconds()) < 15 and query["X-Amz-Expires"] == "300"
    expires = datetime.fromisoformat(link["url_expires_at"])
    assert timedelta(seconds=295) <= expires - signed_at <= timedelta(seconds=305)

    # Given S3's clock 298 seconds after the link was signed: it downloads the recording
    world.s3.clock.advance((signed_at + timedelta(seconds=298) - world.s3.clock.now()).total_seconds())
    downloaded = httpx.get(link["url"], timeout=10)
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content[:4] == b"OggS" and len(downloaded.content) == ready["size_bytes"]
    # When three more seconds have passed, the same link is refused as S3 refuses it
    world.s3.clock.advance(3)
    refused = httpx.get(link["url"], timeout=10)
    assert refused.status_code == 403, refused.text
    error = _s3_error(refused)
    assert error["Code"] == "AccessDenied" and error["Message"] == "Request has expired"
    assert error["X-Amz-Expires"] == "300"
    assert error["Expires"] == (signed_at + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_changed_link_is_refused(world, keys):
    """Each part of the link is signed: stretched to a week, re-dated, or pointed at another user's recording in the
    same bucket, it no longer matches its signature, and S3 refuses it."""
    call_id, _, link = _ready_link(world, keys)
    other = "recordings/usr_bob/call_bobs.ogg"
    boto3.client("s3").put_object(Bucket=_bucket(world), Key=other, Body=b"OggS bob's call")
    assert httpx.get(link["url"], timeout=10).status_code == 200
    url = urlsplit(link["url"])
    query = dict(parse_qsl(url.query))
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    changed = {
        "a week": url._replace(query=urlencode({**query, "X-Amz-Expires": "604800"})),
        "re-dated": url._replace(query=urlencode({**query, "X-Amz-Date": later})),
        "bob's": url._replace(path=url.path.replace(f"recordings/usr_alice/{call_id}.ogg", other)),
    }
    assert changed["bob's"].path.endswith(other)
    for name, parts in changed.items():
        reply = httpx.get(urlunsplit(parts), timeout=10)
        assert reply.status_code == 403, name
        assert _s3_error(reply)["Code"] == "SignatureDoesNotMatch", name


def test_the_callee_hanging_up_stops_the_egress_with_the_room(world, keys):
    register(world, keys.alice)
    world.livekit.set_outcome(RECORDED, "answer", after_ms=30, talk_ms=800)
    reply = world.client.post(
        "/outbound-calls/create", token=keys.alice, json_body={"phone_number": RECORDED, "record": True}
    )
    call_id = reply.json()["call_id"]
    recording_status(world, keys.alice, call_id, "recording")
    call_status(world, keys.alice, call_id, "completed")
    ready = recording_status(world, keys.alice, call_id, "ready")
    (egress,) = world.livekit.state()["egresses"]
    assert egress["status"] == "EGRESS_COMPLETE" and egress["egress_id"] == ready["egress_id"]
    assert 0.5 <= ready["duration_seconds"] <= 2.0
    # the recording its webhook settled leaves its mark to the next reconcile, which removes it
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["unmarked"] == 1
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["unmarked"] == 0


def _dies_after_the_answer(monkeypatch: Any) -> list[str]:
    """The webhook function dies between writing the answer and starting the egress: the first thing the start does
    (reading LiveKit's upload credentials) fails the invocation with an error nothing handles, as a crash would."""
    from telephony.integrations import recording_storage

    died: list[str] = []

    def dies() -> None:
        died.append("died")
        raise RuntimeError("the webhook function died after writing the answer")

    monkeypatch.setattr(recording_storage, "upload_target", dies)
    return died


def _mark_answered_minutes_ago(world: Any, call_id: str, minutes: int) -> None:
    from telephony.repositories import dynamo
    from telephony.repositories import keys as item_keys

    boto3.client("dynamodb").update_item(
        TableName=world.stack.physical_name("CallsTable"),
        Key=dynamo.marshal(item_keys.recording_pending(call_id)),
        UpdateExpression="SET answered = answered - :ago",
        ConditionExpression="attribute_exists(answered)",
        ExpressionAttributeValues=dynamo.values(ago=minutes * 60),
    )


def test_an_egress_lost_with_the_webhook_function_is_started_by_the_reconcile(world, keys, monkeypatch):
    """ADR 0024: the webhook function wrote the answer and died before starting the egress; LiveKit's redelivery
    finds the answer applied. The answer's transaction marked the call, so the reconcile starts its egress once the
    function is surely dead (START_AFTER), and the recording ends ready."""
    register(world, keys.alice)
    died = _dies_after_the_answer(monkeypatch)
    call_id = place_call(world, keys.alice, RECORDED, record=True)
    answered = call_status(world, keys.alice, call_id, "in_progress")
    wait_for(lambda: died, bool, 5, "the webhook function to die")
    monkeypatch.undo()
    time.sleep(0.3)  # the answer's other events (track_published) come and change nothing
    assert world.client.get(f"/outbound-calls/{call_id}/details", token=keys.alice).json()["recording"] is None
    assert answered["record"] is True and world.livekit.state()["egresses"] == []

    # Given the answer a moment ago: the function might still be starting it, so the reconcile waits
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["started"] == 0
    assert world.livekit.state()["egresses"] == []
    # When the answer was written 3 minutes ago, the reconcile starts the egress of the call, still going
    _mark_answered_minutes_ago(world, call_id, 3)
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["started"] == 1
    recording = recording_status(world, keys.alice, call_id, "recording")
    (egress,) = world.livekit.state()["egresses"]
    assert egress["egress_id"] == recording["egress_id"]
    assert egress["room_composite"]["file_outputs"][0]["filepath"] == f"recordings/usr_alice/{call_id}.ogg"
    # Then the call ends and its recording is ready, with its file; the next runs start nothing more
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["started"] == 0
    time.sleep(0.3)
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    ready = recording_status(world, keys.alice, call_id, "ready")
    key = f"recordings/usr_alice/{call_id}.ogg"
    assert boto3.client("s3").head_object(Bucket=_bucket(world), Key=key)["ContentLength"] == ready["size_bytes"]
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT) == {
        "settled": 0,
        "still_going": 0,
        "unmarked": 1,
        "started": 0,
    }
    assert len(world.livekit.state()["egresses"]) == 1


def test_a_call_that_ended_before_its_lost_egress_was_started_has_its_recording_failed(world, keys, monkeypatch):
    register(world, keys.alice)
    died = _dies_after_the_answer(monkeypatch)
    call_id = place_call(world, keys.alice, RECORDED, record=True)
    call_status(world, keys.alice, call_id, "in_progress")
    wait_for(lambda: died, bool, 5, "the webhook function to die")
    monkeypatch.undo()
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    _mark_answered_minutes_ago(world, call_id, 3)

    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["started"] == 0
    failed = recording_status(world, keys.alice, call_id, "failed")
    assert failed["error"] == "not_started" and failed["egress_id"] is None
    assert world.livekit.state()["egresses"] == []
    assert world.runtime.invoke("ReconcileRecordingsFunction", SCHEDULED_EVENT)["unmarked"] == 1


def test_a_second_start_of_the_same_call_stops_its_own_egress(world, keys):
    """Two starts of one call (the reconcile's runs overlapping, say) never record it twice: the one whose write finds
    the call recorded by another egress stops its own."""
    from telephony.repositories.store import default_store
    from telephony.services import recordings

    register(world, keys.alice)
    call_id = place_call(world, keys.alice, RECORDED, record=True)
    first = recording_status(world, keys.alice, call_id, "recording")
    call = default_store().calls.get(call_id)
    assert call is not None
    stale = call.model_copy(update={"recording": None})  # the call as the second start read it: not yet recorded

    assert recordings.start(stale) is None

    def statuses() -> dict[str, str]:  # a status left out is the first one, EGRESS_STARTING
        return {e["egress_id"]: e.get("status", "EGRESS_STARTING") for e in world.livekit.state()["egresses"]}

    assert len(statuses()) == 2
    (second,) = [e for e in statuses() if e != first["egress_id"]]
    live = {"EGRESS_STARTING", "EGRESS_ACTIVE"}
    wait_for(
        statuses,
        lambda now: now[second] not in live and now[first["egress_id"]] == "EGRESS_ACTIVE",
        5,
        "the second egress to stop and the first to go on",
    )
    assert recording_status(world, keys.alice, call_id, "recording")["egress_id"] == first["egress_id"]
    assert world.livekit.state()["counts"].get("StopEgress") == 1
