"""handlers/streams.py: a stream's inserted items reach the work, other records do not, and a failing item is
reported as Lambda's partial batch response wants it."""

from __future__ import annotations

from typing import Any

from telephony.handlers.streams import process_new_items


def record(name: str, sequence: str, pk: str) -> dict[str, Any]:
    image = {"pk": {"S": pk}, "n": {"N": "1"}}
    body: dict[str, Any] = {"Keys": {"pk": {"S": pk}}, "SequenceNumber": sequence, "StreamViewType": "NEW_IMAGE"}
    if name != "REMOVE":
        body["NewImage"] = image
    return {"eventID": sequence, "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": body}


def test_only_inserted_items_are_handled_and_a_failure_names_its_record():
    seen: list[dict[str, Any]] = []

    def work(image: dict[str, Any]) -> None:
        seen.append(image)
        if image["pk"]["S"] == "bad":
            raise ValueError("cannot")

    event = {
        "Records": [
            record("INSERT", "100", "a"),
            record("MODIFY", "101", "b"),
            record("REMOVE", "102", "c"),
            record("INSERT", "103", "bad"),
        ]
    }
    answer = process_new_items(event, None, work)
    assert [i["pk"]["S"] for i in seen] == ["a", "bad"]
    assert seen[0] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert answer == {"batchItemFailures": [{"itemIdentifier": "103"}]}
