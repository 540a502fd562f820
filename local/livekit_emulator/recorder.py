"""Egress as LiveKit runs it for a room: starting, active, ending, then complete (its file uploaded) or failed.

A room-composite egress records its room until it is stopped or the room closes. Then the emulator writes the
recording (an Ogg Opus file as long as the egress was active: ogg.py) and uploads it with the request's S3
settings, to the request's endpoint only (the emulator sends nothing anywhere else; a request without an endpoint
fails as an upload LiveKit could not make). Each change of status is an egress webhook: ``egress_started`` when it
starts, ``egress_updated`` when it becomes active and when it starts ending, ``egress_ended`` when it is complete,
failed or aborted (livekit/protocol webhook events).

Functions taking ``rt`` are called with ``Runtime.lock`` held, but the upload, which runs in its own thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from livekit.protocol import egress as egress_pb
from livekit.protocol import webhook as webhook_pb

from . import ids, ogg
from .model import Room
from .runtime import Runtime
from .webhooks import encode_event

log = logging.getLogger("livekit_emulator")

ES = egress_pb.EgressStatus
EGRESS_PREFIX = "EG_"
ACTIVE_AFTER_SECONDS = 0.05  # the egress worker joins the room: starting -> active
LIVE = (ES.EGRESS_STARTING, ES.EGRESS_ACTIVE)


def _now_ns() -> int:
    return time.time_ns()


def emit(rt: Runtime, event: str, info: egress_pb.EgressInfo) -> None:
    ev = webhook_pb.WebhookEvent(event=event, id=ids.new_id(ids.WEBHOOK_EVENT), created_at=int(time.time()))
    ev.egress_info.CopyFrom(info)
    rt.state.log_event(
        {
            "id": ev.id,
            "event": event,
            "room": info.room_name,
            "egress_id": info.egress_id,
            "status": ES.Name(info.status),
            "created_at": ev.created_at,
        }
    )
    if rt.webhook_url:
        rt.webhooks.enqueue(rt.webhook_url, encode_event(ev))


def start(rt: Runtime, room: Room, request: egress_pb.RoomCompositeEgressRequest) -> egress_pb.EgressInfo:
    """A new egress of ``room``, starting; active a moment later."""
    info = egress_pb.EgressInfo(
        egress_id=ids.new_id(EGRESS_PREFIX),
        room_id=room.sid,
        room_name=room.name,
        source_type=egress_pb.EgressSourceType.EGRESS_SOURCE_TYPE_WEB,
        status=ES.EGRESS_STARTING,
        updated_at=_now_ns(),
    )
    info.room_composite.CopyFrom(request)
    rt.state.egresses[info.egress_id] = info
    emit(rt, "egress_started", info)

    def activate() -> None:
        with rt.lock:
            if rt.state.egresses.get(info.egress_id) is info and info.status == ES.EGRESS_STARTING:
                info.status = ES.EGRESS_ACTIVE
                info.started_at = info.updated_at = _now_ns()
                emit(rt, "egress_updated", info)

    rt.scheduler.call_later(ACTIVE_AFTER_SECONDS, activate)
    return info


def stop(rt: Runtime, info: egress_pb.EgressInfo) -> None:
    """The egress ends: ending now, its file written and uploaded in the background, then complete or failed."""
    if info.status not in LIVE:
        return
    ended = _now_ns()
    started = info.started_at or ended
    info.status = ES.EGRESS_ENDING
    info.updated_at = ended
    emit(rt, "egress_updated", info)
    request = egress_pb.RoomCompositeEgressRequest()
    request.CopyFrom(info.room_composite)
    state = rt.state
    threading.Thread(
        target=_finish,
        args=(rt, state, info, request, started, ended),
        name=f"livekit-emulator-egress-{info.egress_id}",
        daemon=True,
    ).start()


def room_closed(rt: Runtime, room: Room) -> None:
    """A room-composite egress ends with its room."""
    for info in list(rt.state.egresses.values()):
        if info.room_name == room.name and info.room_id == room.sid:
            stop(rt, info)


def _file_output(request: egress_pb.RoomCompositeEgressRequest) -> egress_pb.EncodedFileOutput:
    return request.file_outputs[0] if request.file_outputs else request.file


def storage_path(info: egress_pb.EgressInfo, output: egress_pb.EncodedFileOutput) -> str:
    """Where the file goes, as the egress names it: the given path, with `.ogg` added when it lacks it; a generated
    name when the path is empty or a folder."""
    path = output.filepath.lstrip("/")
    if not path or path.endswith("/"):
        return f"{path}{info.room_name}-{time.strftime('%Y-%m-%dT%H%M%S', time.gmtime())}.ogg"
    return path if path.endswith(".ogg") else path + ".ogg"


def _finish(
    rt: Runtime,
    state: Any,
    info: egress_pb.EgressInfo,
    request: egress_pb.RoomCompositeEgressRequest,
    started: int,
    ended: int,
) -> None:
    output = _file_output(request)
    key = storage_path(info, output)
    seconds = max((ended - started) / 1e9, 0.02)
    data = ogg.opus_silence(seconds)
    error = ""
    location = ""
    try:
        location = _upload(output.s3, key, data)
    except Exception as failure:  # any refusal of the upload fails the egress, as LiveKit's does
        error = f"upload failed: {failure}"
        log.warning("egress %s: %s", info.egress_id, error)
    with rt.lock:
        if rt.state is not state or rt.state.egresses.get(info.egress_id) is not info:
            return  # the emulator was reset meanwhile
        info.ended_at = info.updated_at = _now_ns()
        if error:
            info.status = ES.EGRESS_FAILED
            info.error = error
            info.error_code = 500
        else:
            info.status = ES.EGRESS_COMPLETE
            result = egress_pb.FileInfo(
                filename=key,
                started_at=started,
                ended_at=ended,
                duration=ended - started,
                size=len(data),
                location=location,
            )
            info.file_results.append(result)
            info.file.CopyFrom(result)
        emit(rt, "egress_ended", info)


def _upload(s3: egress_pb.S3Upload, key: str, data: bytes) -> str:
    if not s3.endpoint:
        raise ValueError("the emulator uploads only to the S3 endpoint the request names")
    if not s3.endpoint.startswith(("http://127.0.0.1", "http://localhost")):
        raise ValueError("the emulator uploads only to a local S3 endpoint")
    if not s3.bucket:
        raise ValueError("no bucket")
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=s3.region or "us-east-1")
    access_key, secret, token = s3.access_key, s3.secret, s3.session_token or None
    if s3.assume_role_arn:
        sts = session.client(
            "sts",
            endpoint_url=s3.endpoint,
            aws_access_key_id=access_key or "emulator",
            aws_secret_access_key=secret or "emulator",
        )
        assume: dict[str, Any] = {"RoleArn": s3.assume_role_arn, "RoleSessionName": "livekit-egress"}
        if s3.assume_role_external_id:
            assume["ExternalId"] = s3.assume_role_external_id
        creds = sts.assume_role(**assume)["Credentials"]
        access_key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    client = session.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    extra: dict[str, Any] = {"ContentType": "audio/ogg"}
    if s3.metadata:
        extra["Metadata"] = dict(s3.metadata)
    if s3.content_disposition:
        extra["ContentDisposition"] = s3.content_disposition
    client.put_object(Bucket=s3.bucket, Key=key, Body=data, **extra)
    return f"{s3.endpoint.rstrip('/')}/{s3.bucket}/{key}"
