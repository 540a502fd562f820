"""livekit.Egress through the official client: the grant, the checks, the statuses, the webhooks, and the OGG file
uploaded to a moto S3 server on loopback."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from emulator_helpers import Client, WebhookSink, token
from livekit import api
from moto.server import ThreadedMotoServer
from mutagen.oggopus import OggOpus

from local.livekit_emulator.ogg import crc

BUCKET = "recordings-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    _s3(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )


def _request(room: str, endpoint: str, *, path: str = "recordings/u/c.ogg", bucket: str = BUCKET, **kw: Any) -> Any:
    upload = api.S3Upload(access_key="k", secret="s", region="us-east-1", endpoint=endpoint, bucket=bucket)
    output = api.EncodedFileOutput(file_type=api.EncodedFileType.OGG, filepath=path, s3=upload)
    return api.RoomCompositeEgressRequest(room_name=room, audio_only=True, file_outputs=[output], **kw)


def _room(client: Client, name: str) -> None:
    client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name=name)))


def _until(client: Client, egress_id: str, status: int, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        (info,) = client(lambda lk: lk.egress.list_egress(api.ListEgressRequest(egress_id=egress_id))).items
        if info.status == status:
            return info
        assert time.monotonic() < deadline, f"egress is {api.EgressStatus.Name(info.status)}"
        time.sleep(0.02)


def test_start_list_stop_and_the_file(client: Client, webhook_sink: WebhookSink, s3_endpoint: str) -> None:
    client.emu.webhook_url = webhook_sink.url
    _room(client, "rec")
    started = client(lambda lk: lk.egress.start_room_composite_egress(_request("rec", s3_endpoint)))
    assert started.egress_id.startswith("EG_") and len(started.egress_id) == 15
    assert started.status == api.EgressStatus.EGRESS_STARTING and started.room_name == "rec"
    _until(client, started.egress_id, api.EgressStatus.EGRESS_ACTIVE)
    time.sleep(1.0)
    listed = client(lambda lk: lk.egress.list_egress(api.ListEgressRequest(room_name="rec", active=True))).items
    assert [i.egress_id for i in listed] == [started.egress_id]
    stopped = client(lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id)))
    assert stopped.status == api.EgressStatus.EGRESS_ENDING
    done = _until(client, started.egress_id, api.EgressStatus.EGRESS_COMPLETE)
    (result,) = done.file_results
    assert result.filename == "recordings/u/c.ogg" and 0.9e9 < result.duration < 2e9 and result.size > 0
    assert client(lambda lk: lk.egress.list_egress(api.ListEgressRequest(room_name="rec", active=True))).items == []

    data = _s3(s3_endpoint).get_object(Bucket=BUCKET, Key="recordings/u/c.ogg")["Body"].read()
    assert len(data) == result.size and data[:4] == b"OggS"
    assert abs(OggOpus(io.BytesIO(data)).info.length - result.duration / 1e9) < 0.03
    _pages_are_intact(data)

    events = webhook_sink.wait(5)
    egress_events = [(e.event, api.EgressStatus.Name(e.egress_info.status)) for e in events if e.egress_info.egress_id]
    assert egress_events == [
        ("egress_started", "EGRESS_STARTING"),
        ("egress_updated", "EGRESS_ACTIVE"),
        ("egress_updated", "EGRESS_ENDING"),
        ("egress_ended", "EGRESS_COMPLETE"),
    ]
    assert events[-1].egress_info.file_results[0].location.endswith(f"/{BUCKET}/recordings/u/c.ogg")

    err = client.error(lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id)))
    assert (err.code, err.status) == ("failed_precondition", 412)
    assert err.message == "egress with status EGRESS_COMPLETE cannot be stopped"


def _pages_are_intact(data: bytes) -> None:
    offset = 0
    while offset < len(data):
        segments = data[offset + 26]
        end = offset + 27 + segments + sum(data[offset + 27 : offset + 27 + segments])
        page = bytearray(data[offset:end])
        stated = int.from_bytes(page[22:26], "little")
        page[22:26] = bytes(4)
        assert crc(bytes(page)) == stated
        offset = end


def test_the_room_closing_ends_its_egress(client: Client, s3_endpoint: str) -> None:
    _room(client, "closing")
    started = client(
        lambda lk: lk.egress.start_room_composite_egress(_request("closing", s3_endpoint, path="recordings/u/r"))
    )
    _until(client, started.egress_id, api.EgressStatus.EGRESS_ACTIVE)
    client(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room="closing")))
    done = _until(client, started.egress_id, api.EgressStatus.EGRESS_COMPLETE)
    assert done.file_results[0].filename == "recordings/u/r.ogg"  # the extension added, as the egress does


def test_a_refused_upload_fails_the_egress(client: Client, s3_endpoint: str) -> None:
    _room(client, "nobucket")
    started = client(
        lambda lk: lk.egress.start_room_composite_egress(_request("nobucket", s3_endpoint, bucket="no-such-bucket"))
    )
    client(lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id)))
    failed = _until(client, started.egress_id, api.EgressStatus.EGRESS_FAILED)
    assert "NoSuchBucket" in failed.error and not failed.file_results


def test_the_servers_refusals(client: Client, s3_endpoint: str) -> None:
    err = client.error(lambda lk: lk.egress.start_room_composite_egress(_request("ghost", s3_endpoint)))
    assert (err.code, err.status, err.message) == ("not_found", 404, "requested room does not exist")
    _room(client, "r")
    both = _request("r", s3_endpoint, video_only=True)
    err = client.error(lambda lk: lk.egress.start_room_composite_egress(both))
    assert (err.code, err.message) == (
        "invalid_argument",
        "request has missing or invalid field: audio_only and video_only",
    )
    err = client.error(
        lambda lk: lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(room_name="r", audio_only=True))
    )
    assert (err.code, err.message) == ("invalid_argument", "request has missing or invalid field: output")
    err = client.error(lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id="EG_nope")))
    assert (err.code, err.status, err.message) == ("not_found", 404, "egress does not exist")
    assert client.state()["egresses"] == []


def test_every_method_needs_the_room_record_grant(client: Client, s3_endpoint: str) -> None:
    _room(client, "g")
    admin = token(video=api.VideoGrants(room_admin=True, room_create=True, room_list=True, room="g"))
    for method, body in (
        ("StartRoomCompositeEgress", {"room_name": "g", "audio_only": True}),
        ("ListEgress", {}),
        ("StopEgress", {"egress_id": "EG_x"}),
    ):
        status, _, raw = client.http(
            "POST",
            f"/twirp/livekit.Egress/{method}",
            json.dumps(body).encode(),
            {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        )
        assert (status, json.loads(raw)["code"]) == (401, "unauthenticated"), method
    recorder = token(video=api.VideoGrants(room_record=True))
    status, _, raw = client.http(
        "POST",
        "/twirp/livekit.Egress/ListEgress",
        b"{}",
        {"Authorization": f"Bearer {recorder}", "Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(raw)["items"] == []
