"""Do-not-call lists through the local stack: the routes of template.yaml behind the authorizer, each function with
its own role (local/iam.py), the AccountsTable in moto."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support import assert_error

NUMBERS = ["+14155550123", "+1 (415) 555-0124", "+14155550123", "+44 20 7183 8750"]
LISTED = ["+14155550123", "+14155550124", "+442071838750"]


def add(world: Any, token: str, numbers: list[str], path: str = "/dnc", **more: Any) -> Any:
    return world.client.post(path, token=token, json_body={"numbers": numbers, **more})


def listed(world: Any, token: str, path: str = "/dnc") -> list[str]:
    found: list[str] = []
    query = "?limit=100"
    while True:
        page = world.client.get(path + query, token=token)
        assert page.status == 200, page.body
        found += [e["phone_number"] for e in page.json()["items"]]
        if not page.json()["next_token"]:
            return found
        query = f"?limit=100&next_token={page.json()['next_token']}"


def test_numbers_are_listed_in_e164_read_encoded_or_not_and_deleted(world, keys):
    made = add(world, keys.alice, NUMBERS, reason="asked on the call")
    assert made.status == 200, made.body
    assert made.json() == {"added": 3, "already_listed": 0, "numbers": LISTED}

    assert listed(world, keys.alice) == sorted(LISTED)
    for path in ("/dnc/+14155550124", "/dnc/%2B14155550124", "/dnc/%2b1%20415%20555%200124"):
        got = world.client.get(path, token=keys.alice)
        assert got.status == 200, (path, got.body)
        assert got.json()["phone_number"] == "+14155550124" and got.json()["reason"] == "asked on the call"
        assert got.json()["created_at"].endswith("Z")

    again = add(world, keys.alice, ["+14155550124", "+14155550125"], reason="later")
    assert again.json() == {"added": 1, "already_listed": 1, "numbers": ["+14155550124", "+14155550125"]}
    assert world.client.get("/dnc/%2B14155550124", token=keys.alice).json()["reason"] == "asked on the call"

    gone = world.client.delete("/dnc/%2B14155550124", token=keys.alice)
    assert gone.status == 200 and gone.json() == {"phone_number": "+14155550124", "status": "deleted"}
    assert_error(world.client.get("/dnc/+14155550124", token=keys.alice), 404, "not_found")
    assert_error(world.client.delete("/dnc/+14155550124", token=keys.alice), 404, "not_found")


def test_an_invalid_number_refuses_the_batch_naming_its_index_and_lists_nothing(world, keys):
    reply = add(world, keys.alice, ["+14155550123", "+1415", "14155550125", "+14155550126"])

    error = assert_error(reply, 400, "invalid_request")
    assert [d["field"] for d in error["details"]] == ["numbers[1]", "numbers[2]"]
    assert listed(world, keys.alice) == []


@pytest.mark.parametrize(
    "body",
    [
        {"numbers": []},
        {"numbers": ["+14155550123"] * 1001},
        {"numbers": "+14155550123"},
        {"numbers": [14155550123]},
        {"numbers": ["+14155550123"], "reason": "x" * 501},
        {"numbers": ["+14155550123"], "owner_id": "usr_bob"},
        {"reason": "no numbers"},
    ],
)
def test_a_body_that_is_not_a_batch_is_400(world, keys, body):
    assert_error(world.client.post("/dnc", token=keys.alice, json_body=body), 400, "invalid_request")
    assert listed(world, keys.alice) == []


@pytest.mark.parametrize("path", ["/dnc/4155550123", "/dnc/+1415", "/dnc/%2B1415", "/dnc/" + "9" * 3000])
def test_a_path_that_is_no_number_is_404(world, keys, path):
    for method in ("GET", "DELETE"):
        assert_error(world.client.request(method, path, token=keys.alice), 404, "not_found")


def test_a_thousand_numbers_are_listed_in_one_request(world, keys):
    numbers = [f"+1415555{n:04d}" for n in range(1000, 2000)]

    made = add(world, keys.alice, numbers)

    assert made.status == 200 and made.json()["added"] == 1000, made.body
    assert listed(world, keys.alice) == numbers


def test_each_account_sees_its_own_list_and_a_page_token_cannot_cross_to_another(world, keys):
    add(world, keys.alice, ["+14155550123", "+14155550124", "+14155550125"])
    add(world, keys.bob, ["+14155550199"])

    page = world.client.get("/dnc?limit=2", token=keys.alice).json()
    assert [e["phone_number"] for e in page["items"]] == ["+14155550123", "+14155550124"] and page["next_token"]
    assert listed(world, keys.bob) == ["+14155550199"]
    assert_error(world.client.get("/dnc/+14155550123", token=keys.bob), 404, "not_found")
    assert_error(world.client.delete("/dnc/+14155550123", token=keys.bob), 404, "not_found")
    crossed = world.client.get(f"/dnc?next_token={page['next_token']}", token=keys.bob)
    assert_error(crossed, 400, "invalid_request")


def test_admins_keep_the_global_list_and_nobody_else_may_touch_it(world, keys):
    for token in (keys.alice, keys.agent):
        assert_error(add(world, token, ["+14155550123"], "/admin/dnc"), 403, "forbidden")
        assert_error(world.client.get("/admin/dnc", token=token), 403, "forbidden")
        assert_error(world.client.get("/admin/dnc/+14155550123", token=token), 403, "forbidden")
        assert_error(world.client.delete("/admin/dnc/+14155550123", token=token), 403, "forbidden")

    made = add(world, keys.admin, ["+1 415 555 0123"], "/admin/dnc", reason="regulator")
    assert made.status == 200 and made.json()["numbers"] == ["+14155550123"], made.body
    assert listed(world, keys.admin, "/admin/dnc") == ["+14155550123"]
    assert listed(world, keys.admin) == []  # the admin's own list is another
    assert world.client.get("/admin/dnc/%2B14155550123", token=keys.admin).json()["reason"] == "regulator"
    assert world.client.delete("/admin/dnc/+14155550123", token=keys.admin).status == 200
    assert_error(world.client.get("/admin/dnc/+14155550123", token=keys.admin), 404, "not_found")


# ---------------------------------------------------------------- DynamoDB leaving writes unprocessed


@contextmanager
def unprocessed_writes(*, calls: set[int]) -> Iterator[list[int]]:
    """BatchWriteItem requests whose number (from 1) is in `calls` are answered as DynamoDB answers one it could not
    write at all (throttled): every write of the request back in UnprocessedItems, nothing written. Yields the
    numbers of the requests seen so far."""
    from telephony import aws

    client = aws.dynamodb()
    seen: list[int] = []
    lock = threading.Lock()

    class Http:
        status_code = 200
        headers: dict[str, str] = {}
        content = b""

    def answer(params: dict[str, Any], **_: Any) -> Any:
        with lock:
            seen.append(len(seen) + 1)
            number = seen[-1]
        if number not in calls:
            return None
        requested = json.loads(params["body"])["RequestItems"]
        return Http(), {"UnprocessedItems": requested, "ResponseMetadata": {"HTTPStatusCode": 200}}

    event = "before-call.dynamodb.BatchWriteItem"
    client.meta.events.register(event, answer, unique_id="test-dnc-unprocessed")
    try:
        yield seen
    finally:
        client.meta.events.unregister(event, unique_id="test-dnc-unprocessed")


def test_writes_left_unprocessed_are_sent_again_and_the_batch_completes(world, keys):
    numbers = [f"+1415555{n:04d}" for n in range(1000, 1060)]  # three requests of up to 25

    with unprocessed_writes(calls={1, 3}) as seen:
        made = add(world, keys.alice, numbers)

    assert made.status == 200 and made.json()["added"] == 60, made.body
    assert len(seen) == 5  # three requests, the first two refused once each and sent again
    assert listed(world, keys.alice) == numbers


def test_a_batch_dynamodb_keeps_refusing_part_way_is_503_and_the_same_request_again_completes_it(world, keys):
    numbers = [f"+1415555{n:04d}" for n in range(1000, 1060)]

    with unprocessed_writes(calls=set(range(2, 100))):  # the first request of 25 is written, then nothing
        failed = add(world, keys.alice, numbers)

    assert_error(failed, 503, "service_unavailable")
    assert listed(world, keys.alice) == numbers[:25]

    retried = add(world, keys.alice, numbers)

    assert retried.status == 200 and retried.json() == {"added": 35, "already_listed": 25, "numbers": numbers}
    assert listed(world, keys.alice) == numbers
