"""The stats counters as the repository reads them: the user's totals, and the hour buckets of the
last 24 hours summed, read straight from DynamoDB's answer."""

from __future__ import annotations

import moto
import pytest

from telephony import aws, config
from telephony.repositories import calls as calls_repo
from telephony.repositories import dynamo, keys
from telephony.services.calls import STAT_COUNTERS
from tests.support import create_key_table

HOUR = calls_repo.HOUR


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setenv("CALLS_TABLE", "calls")
    config.settings.cache_clear()
    with moto.mock_aws():
        aws.reset()
        create_key_table(aws.dynamodb(), "calls")
        try:
            yield
        finally:
            aws.reset()
            config.settings.cache_clear()


def _count(owner: str, hour: int, adds: dict[str, int]) -> None:
    dynamo.transact(calls_repo._counters(owner, hour, adds))


def _stats(owner: str, since: int) -> tuple[dict[str, int], dict[str, int]]:
    return calls_repo.CallsRepository().stats(owner, since_hour=since, counters=STAT_COUNTERS)


def test_totals_and_the_last_24_hours_are_summed_from_one_query(table):
    now = calls_repo.hour_of(1_795_300_000)
    since = now - 23 * HOUR
    created = {"total_calls": 1, "status_dialing": 1}
    ended = {"status_dialing": -1, "status_completed": 1, "answered_calls": 1, "total_duration_seconds": 42}
    for hour in (now, now, since, since - HOUR, since - 2 * HOUR):  # the last two are outside the window
        _count("usr_a", hour, created)
    _count("usr_a", now, ended | {"timed_calls": 1})
    _count("usr_a", since - HOUR, {"status_dialing": -1, "status_busy": 1})
    _count("usr_b", now, created)  # another user's counters are not read
    aws.dynamodb().update_item(  # an attribute that is not a counter (a note, say) is not asked for
        TableName="calls",
        Key=dynamo.marshal(keys.stats_hour("usr_a", now)),
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues=dynamo.values(n="not a number"),
    )

    total, window = _stats("usr_a", since)

    assert total == {
        "total_calls": 5,
        "status_dialing": 3,
        "status_completed": 1,
        "status_busy": 1,
        "answered_calls": 1,
        "total_duration_seconds": 42,
        "timed_calls": 1,
    }
    assert window == {
        "total_calls": 3,
        "status_dialing": 2,
        "status_completed": 1,
        "answered_calls": 1,
        "total_duration_seconds": 42,
        "timed_calls": 1,
    }  # no expires_at, no note, no bucket from before `since`


def test_a_user_without_calls_has_empty_counters(table):
    assert _stats("usr_nobody", 0) == ({}, {})
