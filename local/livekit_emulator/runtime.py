"""What every emulated service works with: the state behind one lock, the timers, the webhooks, the settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message
from livekit.protocol import models as models_pb
from livekit.protocol import webhook as webhook_pb

from . import ids
from .auth import Grants
from .model import ATTR_CALL_STATUS, Fault, Room
from .scheduler import Scheduler
from .state import State
from .webhooks import WebhookSender, encode_event


class Runtime:
    """One per emulator. Services read and write ``state`` only while holding ``lock``."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        webhook_url: str | None,
        departure_timeout: float,
        transfer_hangup_delay: float,
    ) -> None:
        self.lock = threading.RLock()
        self.state = State()
        self.scheduler = Scheduler()
        self.webhooks = WebhookSender(api_key, api_secret)
        self.webhook_url = webhook_url
        # How long an emptied room lingers before room_finished (LiveKit: departure_timeout, 20 s).
        self.departure_timeout = departure_timeout
        # After a successful transfer the SIP participant leaves this much later (peer BYE).
        self.transfer_hangup_delay = transfer_hangup_delay

    def count(self, method: str) -> None:
        with self.lock:
            self.state.counts[method] = self.state.counts.get(method, 0) + 1

    def take_fault(self, method: str) -> Fault | None:
        with self.lock:
            return self.state.faults.take(method)

    def emit(
        self,
        event: str,
        room: Room,
        participant: models_pb.ParticipantInfo | None = None,
        track: models_pb.TrackInfo | None = None,
    ) -> None:
        """A LiveKit webhook event: logged in the state, and queued for delivery when a URL is set."""
        ev = webhook_pb.WebhookEvent(event=event, id=ids.new_id(ids.WEBHOOK_EVENT), created_at=int(time.time()))
        ev.room.CopyFrom(room.to_proto())
        if participant is not None:
            ev.participant.CopyFrom(participant)
        if track is not None:
            ev.track.CopyFrom(track)
        summary: dict[str, Any] = {
            "id": ev.id,
            "event": event,
            "room": room.name,
            "room_sid": room.sid,
            "created_at": ev.created_at,
        }
        if participant is not None:
            summary["participant_identity"] = participant.identity
            summary["participant_sid"] = participant.sid
            if event == "participant_left":
                summary["disconnect_reason"] = models_pb.DisconnectReason.Name(participant.disconnect_reason)
            if ATTR_CALL_STATUS in participant.attributes:
                summary["call_status"] = participant.attributes[ATTR_CALL_STATUS]
        if track is not None:
            summary["track_sid"] = track.sid
        self.state.log_event(summary)
        url = self.webhook_url
        if url:
            self.webhooks.enqueue(url, encode_event(ev))


# A Twirp method as the emulator serves it: (runtime, the caller's grants, the decoded request) -> the response.
Handler = Callable[[Runtime, Grants, Any], Message]
