"""An account's live calls as the repository writes them: a small count and one marker item per live call or leg,
every item small whatever the number live, and a place given back once however often it is given back."""

from __future__ import annotations

import moto
import pytest

from telephony import aws, config
from telephony.errors import ConcurrencyLimit
from telephony.repositories import accounts, dynamo, keys
from tests.support import create_key_table


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setenv("ACCOUNTS_TABLE", "accounts")
    config.settings.cache_clear()
    with moto.mock_aws():
        aws.reset()
        create_key_table(aws.dynamodb(), "accounts")
        try:
            yield accounts.AccountsRepository()
        finally:
            aws.reset()
            config.settings.cache_clear()


def _occupy(owner: str, ids: list[str], max_live: int) -> None:
    dynamo.transact(accounts.occupy(owner, ids, max_live=max_live))


def test_the_count_holds_the_maximum_and_a_place_is_given_back_once(table):
    for n in range(3):
        _occupy("usr_a", [f"call_{n}"], max_live=3)
    with pytest.raises(ConcurrencyLimit):
        _occupy("usr_a", ["call_3"], max_live=3)
    with pytest.raises(ConcurrencyLimit):  # more at once than the maximum allows: refused before any write
        accounts.occupy("usr_b", ["call_x", "call_y"], max_live=1)
    assert table.live_count("usr_a") == 3

    assert accounts.give_back("usr_a", ["call_0", "call_0", "call_9"]) == 1  # call_9 was never counted
    assert accounts.give_back("usr_a", ["call_0"]) == 0  # given back already
    assert accounts.give_back("usr_b", ["call_1"]) == 0  # not usr_b's to give back
    assert table.live_count("usr_a") == 2
    _occupy("usr_a", ["call_3"], max_live=3)  # the place is free again
    assert table.live_count("usr_a") == 3 and table.live_count("usr_b") == 0


def test_the_sweep_reads_every_accounts_markers_from_every_shard(table):
    ids = {f"call_{n}" for n in range(64)}
    assert len({keys.live_marker(i)["pk"] for i in ids}) > 1  # spread over several partitions
    for live_id in sorted(ids):
        _occupy("usr_a", [live_id], max_live=1_000)
    _occupy("usr_b", ["call_b", "transfer-call_b-leg1"], max_live=2)

    found = dict(table.with_live_calls())

    assert found == {"usr_a": ids, "usr_b": {"call_b", "transfer-call_b-leg1"}}
    assert table.release("usr_b", ["call_b", "transfer-call_b-leg1"]) == 2
    assert dict(table.with_live_calls()) == {"usr_a": ids}


def test_no_item_grows_with_the_calls_live(table):
    for n in range(200):
        _occupy("usr_a", [f"call_{n:026d}"], max_live=1_000)
    items = aws.dynamodb().scan(TableName="accounts")["Items"]
    assert len(items) == 201
    assert max(len(str(item)) for item in items) < 200  # the count is a number; each marker names one call
