"""Webhook events are not lost and can be ordered: a function that fails between the state change and the hand-off
to delivery, a request that fails after its write, and many changes at once on one call (docs/adr/0020)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.receiver import Receiver
from tests.gate.conftest import aws_fault, call_in_progress, figure, register, wait_for


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    sink = Receiver().start()
    yield sink
    sink.stop()


def hook(world: Any, token: str, url: str, events: list[str]) -> dict[str, Any]:
    made = world.client.post("/webhooks", token=token, json_body={"url": url, "events": events})
    assert made.status == 201, made.body
    return made.json()  # type: ignore[no-any-return]


def _to_delivery_queue(params: dict[str, Any]) -> bool:
    return "WebhookDeliveryQueue" in str(params.get("QueueUrl", ""))


def test_an_event_survives_a_dispatcher_that_fails_before_it_queues_the_delivery(world, keys, receiver):
    """The dispatcher records the attempt, then cannot queue it (SQS down) and fails: the stream hands the event
    to it again, and the attempt still pending is queued then. Delivered, once recorded."""
    made = hook(world, keys.alice, receiver.url, ["webhook.test"])
    with aws_fault("sqs", "SendMessage", "ServiceUnavailable", status=503, times=3, when=_to_delivery_queue) as failed:
        sent = world.client.post(f"/webhooks/{made['webhook_id']}/test", token=keys.alice)
        assert sent.status == 200
        (got,) = wait_for(lambda: receiver.of_type(), lambda found: len(found) == 1, 30, "the event")
    assert failed[0] == 3
    assert got.verified(made["secret"])["type"] == "webhook.test"
    assert got.headers["webhook-id"] == sent.json()["event_id"]
    # The receiver holds the post before the deliverer hears its answer and records it: wait for the record.
    wait_for(
        lambda: world.client.get(f"/webhooks/{made['webhook_id']}/deliveries", token=keys.alice).json()["items"],
        lambda items: [d["status"] for d in items] == ["succeeded"],
        30,
        "the one delivery recorded as succeeded",
    )
    figure("webhooks.dispatch_failures_survived", failed[0])


def test_an_event_survives_a_request_that_fails_after_its_write(world, keys, receiver):
    """An events post writes the summary and its event in one transaction, then its transcript; the transcript's
    write fails, so the request answers 503, yet the summary it committed is told, as it stands."""
    made = hook(world, keys.alice, receiver.url, ["call.summary_ready"])
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)
    body = {"summary": "booked for Monday", "transcript": [{"role": "user", "text": "yes"}]}
    with aws_fault("dynamodb", "BatchWriteItem", "InternalServerError", status=500, times=10) as failed:
        reply = world.client.post(f"/outbound-calls/{call_id}/events", token=keys.agent, json_body=body)
    assert reply.status in (502, 503) and failed[0] >= 1, reply.body
    (got,) = wait_for(lambda: receiver.of_type(), lambda found: len(found) == 1, 30, "the summary event")
    data = got.verified(made["secret"])["data"]
    assert data["call_id"] == call_id and data["summary"] == "booked for Monday"


def test_twenty_concurrent_changes_on_one_call_are_ordered_by_sequence(world, keys, receiver, relaxed_budgets):
    """Twenty summaries posted at once and a hangup among them: each change commits on its own with the next
    sequence (no gap, no repeat), and each event's data is the call as that change left it, so sorting by
    `sequence` replays the call: summaries told after the end show it completed, and the last one told is the
    summary the call keeps."""
    made = hook(world, keys.alice, receiver.url, ["*"])
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)

    def post(i: int) -> int:
        for _ in range(20):  # 409 "changed too often at once" asks for a retry
            reply = world.client.post(
                f"/outbound-calls/{call_id}/events", token=keys.agent, json_body={"summary": f"summary {i:02d}"}
            )
            if reply.status != 409:
                return reply.status
        return reply.status

    def hangup() -> int:
        return world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status

    with ThreadPoolExecutor(max_workers=21) as pool:
        posts = [pool.submit(post, i) for i in range(20)]
        ended = pool.submit(hangup)
        statuses = [p.result() for p in posts]
    assert statuses == [200] * 20 and ended.result() == 200
    got = wait_for(
        lambda: receiver.of_type(), lambda found: len(found) >= 23, 60, "ringing, answered, ended and 20 summaries"
    )
    events = sorted((r.verified(made["secret"]) for r in got), key=lambda e: e["data"]["sequence"])
    assert [e["data"]["sequence"] for e in events] == list(range(1, len(events) + 1)), "a gap or a repeat"
    types = [e["type"] for e in events]
    assert types[:2] == ["call.ringing", "call.answered"] and types.count("call.ended") == 1
    assert types.count("call.summary_ready") == 20
    end = types.index("call.ended")
    for e in events[2:]:
        assert e["data"]["status"] == ("completed" if e["data"]["sequence"] >= end + 1 else "in_progress"), e
    summaries = [e["data"]["summary"] for e in events if e["type"] == "call.summary_ready"]
    assert sorted(summaries) == [f"summary {i:02d}" for i in range(20)]
    kept = world.client.get(f"/outbound-calls/{call_id}/details?include_summary=true", token=keys.alice).json()
    assert kept["summary"] == summaries[-1] == events[-1]["data"]["summary"]
    arrival = [r.body["data"]["sequence"] for r in got]
    figure("webhooks.concurrent_changes", {"events": len(events), "arrived_out_of_order": arrival != sorted(arrival)})
