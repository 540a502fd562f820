"""services/dnc.py against the fake lists: numbers listed in E.164 however written, a batch refused whole for one
invalid number, a batch that fails part-way completed by its retry, the admins' global list, and the check a dial
makes against both lists."""

from __future__ import annotations

from typing import Any

import pytest

from telephony.errors import DoNotCall, Forbidden, InvalidInput, NotFound, UpstreamUnavailable
from telephony.models.dnc import AddDncNumbers
from telephony.models.principal import Principal, Role
from telephony.services import dnc
from tests.unit.fakes import ALICE, BOB, CREATED, FakeDnc, fake_store, listed

ADMIN = Principal(user_id="usr_admin", role=Role.ADMIN, auth_type="api_key", key_id="ak_admin")


@pytest.fixture
def lists() -> FakeDnc:
    return FakeDnc()


@pytest.fixture
def store(lists: FakeDnc) -> Any:
    return fake_store(dnc=lists)


def add(store: Any, *numbers: str, principal: Principal = ALICE, **more: Any) -> Any:
    return dnc.add(AddDncNumbers(numbers=list(numbers), **more), principal=principal, store=store)


# ---------------------------------------------------------------- adding


def test_numbers_are_listed_in_e164_once_each_with_who_listed_them_and_why(store, lists):
    added = add(store, "+1 (415) 555-0123", "+14155550124", "+1 415 555 0123", reason="asked on the call")

    assert (added.added, added.already_listed, added.numbers) == (2, 0, ["+14155550123", "+14155550124"])
    entry = lists.items[(ALICE.user_id, "+14155550123")]
    assert (entry.reason, entry.added_by) == ("asked on the call", ALICE.user_id)
    assert lists.puts == [["+14155550123", "+14155550124"]]


def test_one_invalid_number_refuses_the_batch_naming_every_bad_index_before_anything_is_read():
    with pytest.raises(InvalidInput) as refused:
        # no repository at all: reading or writing anything would fail the test
        add(fake_store(), "+14155550123", "4155550124", "+1415", "+14155550125", "+1 415 555 0126 ext 9")

    assert [d["field"] for d in refused.value.details] == ["numbers[1]", "numbers[2]", "numbers[4]"]
    assert {d["issue"] for d in refused.value.details} <= {"not_e164", "unparsable", "invalid"}
    assert "3 of the numbers" in refused.value.message


def test_numbers_listed_already_keep_their_reason_and_time_and_are_counted_apart(store, lists):
    lists.items[(ALICE.user_id, "+14155550123")] = listed(ALICE.user_id, "+14155550123", reason="first")[0]

    added = add(store, "+14155550123", "+14155550124", reason="second")

    assert (added.added, added.already_listed) == (1, 1)
    kept = lists.items[(ALICE.user_id, "+14155550123")]
    assert (kept.reason, kept.created_at) == ("first", CREATED)
    assert lists.items[(ALICE.user_id, "+14155550124")].reason == "second"
    # every number is written, the listed one as it was: once this answers, all of them are listed
    assert lists.puts == [["+14155550123", "+14155550124"]]


def test_a_batch_that_fails_part_way_is_answered_503_and_its_retry_lists_the_rest(store, lists):
    numbers = [f"+1415555{n:04d}" for n in range(100, 160)]
    lists.fail_put_after(25)

    with pytest.raises(UpstreamUnavailable):
        add(store, *numbers)
    assert len(lists.items) == 25  # the first request's numbers stay listed

    again = add(store, *numbers)

    assert (again.added, again.already_listed) == (35, 25)
    assert {n for _, n in lists.items} == set(numbers)


def test_the_lists_of_two_accounts_are_apart(store, lists):
    add(store, "+14155550123")

    assert add(store, "+14155550123", principal=BOB).added == 1
    with pytest.raises(NotFound):
        dnc.get("+14155550124", principal=BOB, store=store)
    assert [e.phone_number for e in dnc.list_numbers(principal=BOB, limit=10, next_token=None, store=store).items] == [
        "+14155550123"
    ]
    dnc.delete("+14155550123", principal=BOB, store=store)
    assert dnc.get("+14155550123", principal=ALICE, store=store).phone_number == "+14155550123"


# ---------------------------------------------------------------- reading and removing


@pytest.mark.parametrize("written", ["+14155550123", "%2B14155550123", "%2b14155550123", "+1%20415%20555%200123"])
def test_a_number_in_the_path_is_found_encoded_or_not(store, written):
    add(store, "+14155550123", reason="x")

    got = dnc.get(written, principal=ALICE, store=store)

    assert (got.phone_number, got.reason) == ("+14155550123", "x")


@pytest.mark.parametrize("written", ["14155550123", "+1415", "not-a-number", "%252B14155550123", "+" + "1" * 300])
def test_a_path_that_is_no_number_is_not_found_before_anything_is_read(written):
    for act in (dnc.get, dnc.delete):
        with pytest.raises(NotFound):
            act(written, principal=ALICE, store=fake_store())


def test_a_number_not_listed_is_not_found(store):
    add(store, "+14155550123")
    with pytest.raises(NotFound):
        dnc.get("+14155550124", principal=ALICE, store=store)
    with pytest.raises(NotFound):
        dnc.delete("+14155550124", principal=ALICE, store=store)


def test_a_deleted_number_is_gone_and_deleting_it_again_is_not_found(store, lists):
    add(store, "+14155550123")

    assert dnc.delete("%2B14155550123", principal=ALICE, store=store).phone_number == "+14155550123"

    assert lists.items == {}
    with pytest.raises(NotFound):
        dnc.delete("+14155550123", principal=ALICE, store=store)


def test_the_list_comes_in_pages_by_number(store):
    add(store, "+14155550125", "+14155550123", "+14155550124")

    first = dnc.list_numbers(principal=ALICE, limit=2, next_token=None, store=store)
    rest = dnc.list_numbers(principal=ALICE, limit=2, next_token=first.next_token, store=store)

    assert [e.phone_number for e in first.items] == ["+14155550123", "+14155550124"] and first.next_token
    assert [e.phone_number for e in rest.items] == ["+14155550125"] and rest.next_token is None


# ---------------------------------------------------------------- the operator's global list


def test_admins_keep_the_global_list_apart_from_their_own(store, lists):
    added = dnc.add(AddDncNumbers(numbers=["+14155550123"]), principal=ADMIN, global_list=True, store=store)

    assert added.added == 1 and set(lists.items) == {(None, "+14155550123")}
    assert dnc.get("+14155550123", principal=ADMIN, global_list=True, store=store).phone_number == "+14155550123"
    with pytest.raises(NotFound):
        dnc.get("+14155550123", principal=ADMIN, store=store)  # the admin's own list
    page = dnc.list_numbers(principal=ADMIN, limit=10, next_token=None, global_list=True, store=store)
    assert [e.phone_number for e in page.items] == ["+14155550123"]
    dnc.delete("+14155550123", principal=ADMIN, global_list=True, store=store)
    assert lists.items == {}


def test_only_admins_touch_the_global_list_and_others_are_refused_before_anything_is_read():
    store = fake_store()  # no repository: a read would fail the test
    body = AddDncNumbers(numbers=["+14155550123"])
    for act in (
        lambda: dnc.add(body, principal=ALICE, global_list=True, store=store),
        lambda: dnc.list_numbers(principal=ALICE, limit=10, next_token=None, global_list=True, store=store),
        lambda: dnc.get("+14155550123", principal=ALICE, global_list=True, store=store),
        lambda: dnc.delete("not a number", principal=ALICE, global_list=True, store=store),
    ):
        with pytest.raises(Forbidden) as refused:
            act()
        assert refused.value.code == "forbidden"


# ---------------------------------------------------------------- the check a dial makes


@pytest.mark.parametrize(
    ("owner", "lists_named", "says"),
    [(ALICE.user_id, ["account"], "your do-not-call list"), (None, ["global"], "the operator's")],
)
def test_a_number_on_either_list_is_refused_do_not_call_in_one_read(store, lists, owner, lists_named, says):
    lists.items[(owner, "+14155550123")] = listed(owner, "+14155550123")[0]

    with pytest.raises(DoNotCall) as refused:
        dnc.refuse_listed(ALICE.user_id, "+14155550123", store=store)

    assert refused.value.code == "do_not_call" and isinstance(refused.value, Forbidden)
    assert says in refused.value.message
    assert refused.value.details == [{"field": "phone_number", "issue": "do_not_call", "lists": lists_named}]
    assert lists.checked == [(ALICE.user_id, "+14155550123")]


def test_a_number_on_both_lists_names_both(store, lists):
    for owner in (ALICE.user_id, None):
        lists.items[(owner, "+14155550123")] = listed(owner, "+14155550123")[0]
    with pytest.raises(DoNotCall) as refused:
        dnc.refuse_listed(ALICE.user_id, "+14155550123", store=store)
    assert refused.value.lists == ["account", "global"]


def test_another_accounts_list_does_not_refuse_the_call(store, lists):
    lists.items[(BOB.user_id, "+14155550123")] = listed(BOB.user_id, "+14155550123")[0]

    dnc.refuse_listed(ALICE.user_id, "+14155550123", store=store)

    assert lists.checked == [(ALICE.user_id, "+14155550123")]
