"""livekit.Egress: room-composite recordings, listed and stopped (livekit-server pkg/service/egress.go; the request
checks the egress worker makes, livekit/egress pkg/config, answered by the server as the worker's error).

Every method needs the ``roomRecord`` video grant (EnsureRecordPermission). A room-composite egress needs its room
to exist (the server loads it first: ``not_found`` "requested room does not exist"). Stopping an egress that is
no longer starting or active is ``failed_precondition``; an unknown one ``not_found``. What the egress records
and uploads is in recorder.py.
"""

from __future__ import annotations

from livekit.protocol import egress as egress_pb

from .. import recorder
from ..auth import Grants, permission_denied
from ..runtime import Handler, Runtime
from ..twirp import TwirpError, room_not_found

ES = egress_pb.EgressStatus
FT = egress_pb.EncodedFileType


def ensure_record(g: Grants) -> None:
    if g.video is None or not g.video.get("roomRecord"):
        raise permission_denied()


def invalid_input(field: str) -> TwirpError:
    # livekit/egress errors.ErrInvalidInput
    return TwirpError("invalid_argument", f"request has missing or invalid field: {field}")


def egress_not_found() -> TwirpError:
    return TwirpError("not_found", "egress does not exist")


def _validate(req: egress_pb.RoomCompositeEgressRequest) -> None:
    """The worker's checks of a room-composite request (pkg/config/pipeline.go, output.go), the ones the emulator
    can meet: the source, the outputs, and a file output it can write."""
    if req.audio_only and req.video_only:
        raise invalid_input("audio_only and video_only")
    if len(req.file_outputs) > 1:
        raise invalid_input("multiple file outputs")
    has_file = bool(req.file_outputs) or req.HasField("file")
    others = bool(req.stream_outputs or req.segment_outputs or req.image_outputs)
    others = others or req.HasField("stream") or req.HasField("segments")
    if not has_file and not others:
        raise invalid_input("output")
    if not has_file:
        raise TwirpError("unimplemented", "the LiveKit emulator records file outputs only")
    output = req.file_outputs[0] if req.file_outputs else req.file
    if output.file_type not in (FT.OGG, FT.DEFAULT_FILETYPE) or (
        output.file_type == FT.DEFAULT_FILETYPE and not req.audio_only
    ):
        raise TwirpError("unimplemented", "the LiveKit emulator writes audio-only OGG files only")
    if not req.audio_only:
        # an OGG file holds no video: the worker finds no file type for the codecs asked for
        raise TwirpError("invalid_argument", "no supported file output type is compatible with the selected codecs")
    if output.WhichOneof("output") not in (None, "s3"):
        raise TwirpError("unimplemented", "the LiveKit emulator uploads to S3 only")


def start_room_composite_egress(
    rt: Runtime, g: Grants, req: egress_pb.RoomCompositeEgressRequest
) -> egress_pb.EgressInfo:
    ensure_record(g)
    with rt.lock:
        room = rt.state.rooms.get(req.room_name) if req.room_name else None
        if room is None:
            if not req.room_name:
                raise invalid_input("room_name")
            raise room_not_found()
        _validate(req)
        info = recorder.start(rt, room, req)
        answer = egress_pb.EgressInfo()
        answer.CopyFrom(info)
        return answer


def list_egress(rt: Runtime, g: Grants, req: egress_pb.ListEgressRequest) -> egress_pb.ListEgressResponse:
    ensure_record(g)
    with rt.lock:
        items = [
            i
            for i in rt.state.egresses.values()
            if (not req.room_name or i.room_name == req.room_name)
            and (not req.egress_id or i.egress_id == req.egress_id)
            and (not req.active or i.status in recorder.LIVE)
        ]
        return egress_pb.ListEgressResponse(items=items)


def stop_egress(rt: Runtime, g: Grants, req: egress_pb.StopEgressRequest) -> egress_pb.EgressInfo:
    ensure_record(g)
    with rt.lock:
        info = rt.state.egresses.get(req.egress_id)
        if info is None:
            raise egress_not_found()
        if info.status not in recorder.LIVE:
            raise TwirpError("failed_precondition", f"egress with status {ES.Name(info.status)} cannot be stopped")
        recorder.stop(rt, info)
        answer = egress_pb.EgressInfo()
        answer.CopyFrom(info)
        return answer


METHODS: dict[str, Handler] = {
    "StartRoomCompositeEgress": start_room_composite_egress,
    "ListEgress": list_egress,
    "StopEgress": stop_egress,
}
