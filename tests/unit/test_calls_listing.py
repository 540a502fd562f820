"""Calls of both directions as the repository lists them, on the template's calls table under moto: each
direction's partitions read from where the last page stopped, merged newest first, with the range and the number
filter; and the partitions the seed's outbound list reads hold no inbound call."""

from __future__ import annotations

from typing import Any

import moto
import pytest

from local.template import Stack
from telephony import aws, config
from telephony.errors import InvalidInput
from telephony.models.calls import CallRecord, CallStatus, Direction
from telephony.models.webhooks import EventRecord
from telephony.repositories import calls as calls_repo
from telephony.repositories.calls import CallsRepository
from telephony.util import derived_id

_SPEC = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


@pytest.fixture
def repo(monkeypatch) -> Any:
    monkeypatch.setenv("CALLS_TABLE", "calls")
    monkeypatch.setenv("EVENTS_TABLE", "events")
    config.settings.cache_clear()
    props = Stack().tables()["CallsTable"]
    with moto.mock_aws():
        aws.reset()
        aws.dynamodb().create_table(TableName="calls", **{k: props[k] for k in _SPEC if k in props})
        try:
            yield CallsRepository()
        finally:
            aws.reset()
            config.settings.cache_clear()


def _call(n: int, direction: Direction, *, number: str = "pn_1", owner: str = "usr_a") -> CallRecord:
    call_id = derived_id("call", str(n), direction.value)
    inbound = direction is Direction.INBOUND
    return CallRecord(
        call_id=call_id,
        owner_id=owner,
        direction=direction,
        status=CallStatus.RINGING if inbound else CallStatus.DIALING,
        phone_number="+14155550100" if inbound else "+14155550199",
        from_number="+13125550177" if inbound else "+14155550100",
        phone_number_id=number if inbound else None,
        from_phone_number_id=None if inbound else number,
        room_name=f"room-{n}" if inbound else call_id,
        participant_identity="sip_x",
        created_at=f"2026-03-01T10:00:{n:02d}.000Z",
        created_epoch=1772359200 + n,
    )


def _store(repo: CallsRepository, call: CallRecord) -> None:
    """The items as the real writes make them (the creation's counters and other writes are not the point here)."""
    if call.direction is Direction.INBOUND:
        repo.create_inbound(call, events=[])
        return
    from telephony.repositories import dynamo, keys

    item = {
        **keys.call(call.call_id),
        **keys.call_owner(call.owner_id, call.created_at, call.call_id),
        **keys.call_owner_status(call.owner_id, call.status.value, call.created_at, call.call_id),
        **call.model_dump(mode="json", exclude_none=True, exclude={"direction"}),  # stored before directions existed
    }
    aws.dynamodb().put_item(TableName="calls", Item=dynamo.marshal(item))


def _pages(repo: CallsRepository, **query: Any) -> list[list[str]]:
    pages, token = [], None
    while True:
        args = {"directions": list(Direction), "status": None, "after": None, "before": None, "number_id": None}
        items, token = repo.list_filtered("usr_a", **{**args, **query, "token": token})
        pages.append([c.call_id for c in items])
        if token is None:
            return pages
        assert len(pages) < 50, "the pages never end"


def test_both_directions_page_newest_first_without_loss_or_repeat(repo):
    made = [_call(n, Direction.INBOUND if n % 3 == 0 else Direction.OUTBOUND) for n in range(1, 20)]
    for call in made:
        _store(repo, call)
    _store(repo, _call(40, Direction.INBOUND, owner="usr_b"))  # another user's call is never listed

    pages = _pages(repo, limit=4)

    listed = [cid for page in pages for cid in page]
    assert listed == [c.call_id for c in reversed(made)]
    assert all(len(page) <= 4 for page in pages)


def test_a_direction_lists_its_own_calls_and_old_outbound_items_read_as_outbound(repo):
    made = [_call(n, Direction.INBOUND if n % 2 else Direction.OUTBOUND) for n in range(1, 9)]
    for call in made:
        _store(repo, call)
    inbound = [cid for page in _pages(repo, directions=[Direction.INBOUND], limit=3) for cid in page]
    assert inbound == [c.call_id for c in reversed(made) if c.direction is Direction.INBOUND]
    outbound, _ = repo.list_by_owner("usr_a", status=None, limit=100, token=None)  # the seed's list
    assert [c.direction for c in outbound] == [Direction.OUTBOUND] * 4


def test_the_range_is_half_open_and_the_number_filter_loses_nothing_across_pages(repo):
    made = [_call(n, Direction.INBOUND if n % 2 else Direction.OUTBOUND, number=f"pn_{n % 4}") for n in range(1, 13)]
    for call in made:
        _store(repo, call)
    ranged = _pages(repo, after="2026-03-01T10:00:03.000Z", before="2026-03-01T10:00:09.000Z", limit=2)
    assert [cid for page in ranged for cid in page] == [c.call_id for c in reversed(made[2:8])]
    filtered = _pages(repo, number_id="pn_1", limit=2)
    assert [cid for page in filtered for cid in page] == [c.call_id for c in reversed(made) if c.number_id == "pn_1"]


def test_a_token_outside_the_range_lists_nothing_and_a_forged_one_is_refused(repo):
    _store(repo, _call(5, Direction.INBOUND))
    below = calls_repo._token("2026-03-01T10:00:01.000Z#call_x")
    items, token = repo.list_filtered(
        "usr_a",
        directions=list(Direction),
        status=None,
        after="2026-03-01T10:00:02.000Z",
        before=None,
        number_id=None,
        limit=5,
        token=below,
    )
    assert (items, token) == ([], None)
    for forged in ("bm90LWpzb24", calls_repo._token("OWNER#usr_b"), "eyJiZWZvcmUiOiA3fQ"):
        with pytest.raises(InvalidInput):
            repo.list_filtered(
                "usr_a",
                directions=list(Direction),
                status=None,
                after=None,
                before=None,
                number_id=None,
                limit=5,
                token=forged,
            )


def test_an_inbound_calls_room_finds_it(repo):
    call = _call(3, Direction.INBOUND)
    repo.create_inbound(call, events=[])
    assert [c.call_id for c in repo.in_room("room-3")] == [call.call_id]
    assert repo.in_room("room-4") == []


def test_the_inbound_calls_events_are_written_with_it(repo):
    from telephony.models.webhooks import EventType
    from telephony.repositories import dynamo
    from telephony.services import events

    aws.dynamodb().create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    call = _call(4, Direction.INBOUND).model_copy(update={"event_sequence": 1})
    told: list[EventRecord] = events.call_events(
        call.model_copy(update={"event_sequence": 0}), call, [EventType.CALL_RINGING]
    )
    repo.create_inbound(call, events=told)
    (item,) = [dynamo.unmarshal(i) for i in aws.dynamodb().scan(TableName="events")["Items"]]
    assert item["type"] == "call.ringing" and item["data"]["direction"] == "inbound" and item["data"]["sequence"] == 1
    stored = repo.get(call.call_id)
    assert stored is not None and stored.direction is Direction.INBOUND and stored.event_sequence == 1


def test_a_sparse_filter_loses_no_call_of_the_partition_read_less_far(repo):
    # Given inbound calls every fifth second and outbound ones between, few of them of the number asked for: one
    # page reads three calls of each partition, so the inbound partition reads much further back than the outbound
    matching = {40, 35, 33, 22, 21, 3}
    made = [
        _call(n, Direction.INBOUND if n % 5 == 0 else Direction.OUTBOUND, number="pn_1" if n in matching else "pn_2")
        for n in range(1, 41)
    ]
    for call in made:
        _store(repo, call)

    pages = _pages(repo, number_id="pn_1", limit=2)

    # Then every matching call is listed once, newest first, whichever partition it is in
    assert [cid for page in pages for cid in page] == [c.call_id for c in reversed(made) if c.number_id == "pn_1"]
