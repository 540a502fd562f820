"""Read your writes: every item the API reads by its key is read strongly consistent, so a caller can read what it
has just written (a new API key at once, create then fetch, register then call). moto is always consistent and
cannot show a stale read, so the reads themselves are checked: each GetItem and BatchGetItem the product's client
sends over a whole flow asks for `ConsistentRead` (docs/adr/0012), and so does each Query of a table's own key (a
call's stats, its transcript); only the indexes, which cannot, are read eventually consistent."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from tests.gate.conftest import ALLOWED, call_in_progress, figure, pending_request, register


@contextlib.contextmanager
def reads_by_key() -> Iterator[list[tuple[str, str, bool]]]:
    """(operation, table, consistent) of every read by key sent meanwhile, from any thread."""
    from telephony import aws

    client = aws.client("dynamodb")
    seen: list[tuple[str, str, bool]] = []
    lock = threading.Lock()

    def record(params: dict[str, Any], event_name: str = "", **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")
        operation = event_name.rsplit(".", 1)[-1]
        if operation == "Query" and "IndexName" in body:
            return  # an index: eventually consistent by nature
        if operation in ("GetItem", "Query"):
            found = [(body["TableName"], bool(body.get("ConsistentRead")))]
        else:
            found = [(table, bool(ask.get("ConsistentRead"))) for table, ask in body["RequestItems"].items()]
        with lock:
            seen.extend((operation, table, consistent) for table, consistent in found)

    events = ["before-call.dynamodb.GetItem", "before-call.dynamodb.BatchGetItem", "before-call.dynamodb.Query"]
    for event in events:
        client.meta.events.register(event, record, unique_id=f"gate-reads-{event}")
    try:
        yield seen
    finally:
        for event in events:
            client.meta.events.unregister(event, unique_id=f"gate-reads-{event}")


def test_every_read_by_key_is_strongly_consistent(world, keys):
    with reads_by_key() as seen:
        created = world.client.post("/api-keys", token=keys.alice, json_body={"name": "used at once"}).json()
        fresh = created["api_key"]
        assert world.client.get("/outbound-calls/stats", token=fresh).status == 200  # the authorizer reads it

        rid = pending_request(world, keys.bob, "+14155550166")
        assert world.client.get(f"/telephony/phone-number-requests/{rid}", token=keys.bob).status == 200
        assert (
            world.client.post(f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={}).status
            == 200
        )

        number = register(world, keys.alice)  # reads the number's claim
        call_id = call_in_progress(world, keys.alice)
        placed = world.client.post(
            "/outbound-calls/create",
            token=keys.alice,
            json_body={"phone_number": ALLOWED, "from_phone_number_id": number["phone_number_id"]},
        )
        assert placed.status == 201, placed.body
        assert world.client.get(f"/outbound-calls/{call_id}/details", token=keys.alice).status == 200
        events = world.client.post(
            f"/outbound-calls/{call_id}/events",
            token=keys.alice,
            json_body={"transcript": [{"role": "agent", "text": "hi"}]},
        )
        assert events.status == 200, events.body
        details = world.client.get(f"/outbound-calls/{call_id}/details?include_transcript=true", token=keys.alice)
        assert [s["text"] for s in details.json()["transcript"]] == ["hi"]
        transfer = world.client.post(
            f"/outbound-calls/{call_id}/transfer", token=keys.alice, json_body={"transfer_to": ALLOWED, "mode": "warm"}
        )
        assert transfer.status == 200, transfer.body
        assert world.client.delete(f"/api-keys/{created['key_id']}", token=keys.alice).status == 200

    operations = sorted({(op, table.rsplit("-", 1)[-1]) for op, table, _ in seen})
    figure("consistency.reads_by_key", {"reads": len(seen), "kinds": operations})
    stale = [(op, table) for op, table, consistent in seen if not consistent]
    assert stale == [], f"reads by key that may miss a write just made: {sorted(set(stale))}"
    tables = {table.rsplit("-", 1)[-1] for _, table, _ in seen}
    assert {"ApiKeysTable", "RequestsTable", "NumbersTable", "CallsTable"} <= tables, tables
    assert {op for op, _ in operations} == {"GetItem", "BatchGetItem", "Query"}, operations
