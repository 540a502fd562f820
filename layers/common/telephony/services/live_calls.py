"""The sweep of lost calls: a call whose end LiveKit never reported (its webhook lost) would hold a place among its
owner's live calls for ever. Every minute, each account's live calls are checked against LiveKit's rooms: a call
whose room is gone has ended, and is ended here (with its `call.ended` event); a leg no longer in its room is
live no more; an id whose call already ended is taken off."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from telephony.models.calls import CallRecord, call_of_leg
from telephony.observability import count, logger
from telephony.repositories.store import Store, default_store
from telephony.services import calls
from telephony.util import now

if TYPE_CHECKING:
    from telephony.integrations.livekit import LiveKit

# Left alone until this old: an API function runs 29 s at most, so by then a call's creation (which writes the call
# before LiveKit makes its room) or a warm transfer's dial has either reached LiveKit or failed.
GRACE = timedelta(seconds=30)


class Swept(NamedTuple):
    calls_ended: int
    legs_released: int
    ids_repaired: int


def sweep(*, livekit: LiveKit | None = None, store: Store | None = None, at: datetime | None = None) -> Swept:
    from telephony.integrations import livekit as lk

    db = store or default_store()
    client = livekit or lk.default()
    moment = at or now()
    ended = legs = repaired = 0
    for owner_id, live_ids in db.accounts.with_live_calls():
        if not live_ids:
            continue
        records: dict[str, CallRecord | None] = {}
        for live_id in live_ids:
            call_id = call_of_leg(live_id) or live_id
            if call_id not in records:
                records[call_id] = db.calls.get(call_id)
        gone = [i for i in live_ids if _ended(records[call_of_leg(i) or i])]
        if gone:
            db.accounts.release(owner_id, gone)
            repaired += len(gone)
        settled = [c for c in records.values() if c is not None and not c.ended and _old(c.created_at, moment)]
        if not settled:
            continue
        rooms = client.existing_rooms([c.room_name for c in settled])
        for call in settled:
            if call.room_name not in rooms:
                if calls.move(call, calls.ending(moment, "room_gone"), store=db):
                    ended += 1
                continue
            legs += _release_departed_legs(call, live_ids, client, moment, db)
    if ended or legs or repaired:
        logger().info("lost calls swept", extra={"ended": ended, "legs": legs, "repaired": repaired})
        count("LostCallsEnded", ended)
    return Swept(ended, legs, repaired)


def _ended(call: CallRecord | None) -> bool:
    return call is None or call.ended


def _old(iso_time: str, moment: datetime) -> bool:
    return moment - datetime.fromisoformat(iso_time) >= GRACE


def _release_departed_legs(call: CallRecord, live_ids: set[str], client: LiveKit, moment: datetime, db: Store) -> int:
    """The call's legs still counted live that are no longer in its room."""
    counted = [t for t in call.transfers if t.leg_identity in live_ids and _old(t.at, moment)]
    if not counted:
        return 0
    present = client.participants(call.room_name)
    released = 0
    for transfer in counted:
        if transfer.leg_identity and transfer.leg_identity not in present:
            db.calls.set_leg_status(call.call_id, transfer.leg_identity, "ended", live=False)
            released += 1
    return released
