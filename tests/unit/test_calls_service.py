"""The calls service with fake numbers, calls and rate limits, and a fake LiveKit: no AWS, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from telephony.errors import (
    AgentNameTaken,
    BudgetSpent,
    Conflict,
    DoNotCall,
    Forbidden,
    InvalidInput,
    NotFound,
    StatusChanged,
    TooManyTransfers,
    TranscriptFull,
    UpstreamError,
    UpstreamUnavailable,
)
from telephony.integrations import livekit as lk
from telephony.models.calls import CallChanges, CallEvents, CallRecord, CallStatus, CreateCall, Transfer, TransferRecord
from telephony.models.sip import CallSettings, DispatchRule, DtmfConfig, LiveKitIds, Plan, TransferConfig
from telephony.repositories.calls import HOUR, hour_of
from telephony.services import calls
from tests.unit.fakes import (
    ALICE,
    BOB,
    CREATED_EPOCH,
    FakeAccountSettings,
    FakeCalls,
    FakeDnc,
    FakeLiveKit,
    FakeNumbers,
    FakeRateLimits,
    a_call,
    a_number,
    after,
    fake_store,
    listed,
)

CALLEE = "+14155550123"
RULE = DispatchRule(name="main", room_prefix="main", agent_name="receptionist")


def _callable(**fields: Any) -> Any:
    """Alice's number with an outbound trunk and a rule naming its agent."""
    return a_number(livekit=LiveKitIds(outbound="ST_out"), plan=Plan(rule=RULE), **fields)


class World:
    def __init__(self, *numbers: Any, held: tuple[CallRecord, ...] = (), full: set[str] | None = None) -> None:
        self.rate_limits = FakeRateLimits(full=full)
        self.numbers = FakeNumbers(*numbers, rate_limits=self.rate_limits)
        self.calls = FakeCalls(*held, rate_limits=self.rate_limits)
        self.livekit = FakeLiveKit()
        self.dnc = FakeDnc()
        self.account_settings = FakeAccountSettings()  # calling hours not enforced, as by default
        self.store = fake_store(
            numbers=self.numbers, calls=self.calls, dnc=self.dnc, account_settings=self.account_settings
        )

    def create(self, *, principal: Any = ALICE, idempotency_key: str | None = None, **body: Any) -> Any:
        return calls.create(
            CreateCall.model_validate({"phone_number": CALLEE, **body}),
            principal=principal,
            idempotency_key=idempotency_key,
            livekit=self.livekit,
            store=self.store,
        )

    def only_call(self) -> CallRecord:
        (call,) = self.calls.items.values()
        return call


# ---------------------------------------------------------------- create


def test_create_writes_the_call_dialing_with_a_calls_charge_before_livekit_is_asked():
    world = World(_callable())
    seen: list[tuple[CallStatus, list[str]]] = []

    class Watching(FakeLiveKit):
        def create_dispatch(self, room: str, agent_name: str, metadata: str) -> str:
            seen.append((world.calls.items[room].status, world.rate_limits.budgets()))
            return super().create_dispatch(room, agent_name, metadata)

    world.livekit = Watching()
    made = world.create()

    assert seen == [(CallStatus.DIALING, ["calls"])]
    call = world.only_call()
    assert made.call_id == call.call_id == call.room_name and made.status is CallStatus.DIALING
    assert (call.phone_number, call.from_number, call.from_phone_number_id) == (CALLEE, "+14155550100", "pn_1")
    assert call.participant_identity == f"sip-{call.call_id}" and call.agent_name == "receptionist"
    assert world.calls.totals[ALICE.user_id] == {"total_calls": 1, "status_dialing": 1}
    (charge,) = world.rate_limits.spent
    assert charge.subject == "user:usr_alice"


def test_create_dispatches_the_agent_then_dials_with_the_numbers_settings():
    settings = CallSettings(
        ringing_timeout_seconds=20,
        max_call_duration_seconds=600,
        krisp_enabled=False,
        hide_phone_number=True,
        custom_headers={"X-Team": "sales"},
        dtmf_config=DtmfConfig(dtmf_sequence="1w2"),
    )
    world = World(_callable(call_settings=settings))

    made = world.create(system_prompt="Be brief", metadata={"crm": 7}, max_call_duration_seconds=120)

    assert world.livekit.methods() == ["create_dispatch", "dial"]
    ((room, agent, metadata),) = world.livekit.dispatches
    assert (room, agent) == (made.call_id, "receptionist")
    assert json.loads(metadata) == {
        "call_id": made.call_id,
        "phone_number": CALLEE,
        "from_number": "+14155550100",
        "system_prompt": "Be brief",
        "welcome_message": None,
        "voice": None,
        "metadata": {"crm": 7},
        "recording": False,  # the number has no agent_features and the call did not ask
    }
    (dial,) = world.livekit.dials
    assert dial == lk.Dial(
        trunk_id="ST_out",
        to=CALLEE,
        room=made.call_id,
        identity=f"sip-{made.call_id}",
        from_number="+14155550100",
        name=CALLEE,
        attributes={"call_id": made.call_id},
        dtmf="1w2",
        headers={"X-Team": "sales"},
        ringing_timeout_seconds=20,  # the number's
        max_call_duration_seconds=120,  # the body's wins
        krisp_enabled=False,
        hide_phone_number=True,
    )


def test_create_names_the_agent_of_the_body_over_the_numbers_rule_and_claims_it():
    world = World(_callable())
    world.create(agent_name="closer")
    assert world.livekit.dispatches[0][1] == "closer" and world.only_call().agent_name == "closer"
    assert world.numbers.agent_names == {"closer": ALICE.user_id}


@pytest.mark.parametrize("body", [{}, {"agent_name": "receptionist"}])
def test_the_numbers_own_agent_is_not_claimed_again(body):
    # the rule's agent was claimed when the rule was configured
    world = World(_callable())
    world.create(**body)
    assert world.livekit.dispatches[0][1] == "receptionist" and world.numbers.agent_names == {}


def test_an_agent_name_of_another_account_is_refused_before_anything_is_written():
    world = World(_callable())
    world.numbers.agent_names["closer"] = BOB.user_id
    with pytest.raises(AgentNameTaken):
        world.create(agent_name="closer")
    assert world.calls.items == {} and world.rate_limits.spent == [] and world.livekit.calls == []
    assert world.numbers.agent_names == {"closer": BOB.user_id}


def test_an_idempotency_key_derives_the_call_id_and_a_second_run_finds_the_first_call():
    # Given a call placed with an Idempotency-Key
    world = World(_callable())
    first = world.create(idempotency_key="key-1")
    dialled = list(world.livekit.calls)
    # When the same request runs again (its idempotency record lost)
    again = world.create(idempotency_key="key-1")
    # Then it answers the first call: nothing dialled, spent or counted again
    assert again == first and world.only_call().call_id == first.call_id
    assert world.livekit.calls == dialled and world.rate_limits.budgets() == ["calls"]
    assert world.calls.totals[ALICE.user_id]["total_calls"] == 1


def test_the_call_id_is_derived_from_the_key_and_the_caller():
    world = World(_callable(), _callable(phone_number_id="pn_2", phone_number="+14155550101", owner_id=BOB.user_id))
    alices = world.create(idempotency_key="key-1")
    bobs = world.create(idempotency_key="key-1", principal=BOB)
    other = world.create(idempotency_key="key-2")
    assert len({alices.call_id, bobs.call_id, other.call_id}) == 3
    assert all(c.startswith("call_") for c in (alices.call_id, bobs.call_id, other.call_id))
    assert world.calls.items[bobs.call_id].owner_id == BOB.user_id


def test_create_without_an_agent_anywhere_is_refused_before_anything_is_written():
    world = World(a_number(livekit=LiveKitIds(outbound="ST_out")))
    with pytest.raises(InvalidInput, match="agent_name"):
        world.create()
    assert world.calls.items == {} and world.rate_limits.spent == [] and world.livekit.calls == []


@pytest.mark.parametrize(
    ("failure", "seen", "code"),
    [
        (lk.DialFailed("busy", "486 Busy Here", 486), UpstreamError, "busy"),
        (InvalidInput("LiveKit refused the request: bad number"), UpstreamError, "invalid_request"),
        (Conflict("LiveKit: aborted"), UpstreamError, "conflict"),
        (NotFound("LiveKit: no such trunk"), UpstreamError, "not_found"),
        (UpstreamError("LiveKit failed: internal"), UpstreamError, "bad_gateway"),
        (UpstreamUnavailable("LiveKit is unavailable; retry shortly"), UpstreamUnavailable, "service_unavailable"),
    ],
)
def test_a_dial_failure_ends_the_call_failed_with_its_code_and_deletes_its_room(failure, seen, code):
    world = World(_callable())
    world.livekit.fail("dial", failure)

    with pytest.raises(seen):
        world.create()

    call = world.only_call()
    assert call.status is CallStatus.FAILED and call.ended_at
    assert call.end_reason == f"livekit_error: {code}"  # the code only: LiveKit's text goes to the log
    assert call.sip_status_code == (486 if isinstance(failure, lk.DialFailed) else None)
    assert world.livekit.deleted_rooms == [call.room_name]
    assert world.calls.totals[ALICE.user_id] == {"total_calls": 1, "status_dialing": 0, "status_failed": 1}


def test_a_dispatch_failure_never_dials():
    world = World(_callable())
    world.livekit.fail("create_dispatch", UpstreamUnavailable("down"))
    with pytest.raises(UpstreamUnavailable):
        world.create()
    assert world.livekit.methods() == ["create_dispatch", "delete_room"]
    assert world.only_call().status is CallStatus.FAILED


def test_the_caller_sees_the_dial_failure_even_when_the_room_cannot_be_deleted():
    world = World(_callable())
    world.livekit.fail("dial", lk.DialFailed("unreachable", "480 Temporarily Unavailable", 480))
    world.livekit.fail("delete_room", UpstreamUnavailable("down"))
    with pytest.raises(UpstreamError, match="480 Temporarily Unavailable"):
        world.create()
    assert world.only_call().sip_status_code == 480


def test_a_premium_rate_callee_is_refused_before_anything_is_read_or_written():
    livekit = FakeLiveKit()
    with pytest.raises(InvalidInput) as refused:
        calls.create(CreateCall(phone_number="+19002345678"), principal=ALICE, livekit=livekit, store=fake_store())
    assert refused.value.details == [{"field": "phone_number", "issue": "premium"}]
    assert livekit.calls == []


@pytest.mark.parametrize("owner", [ALICE.user_id, None], ids=["own list", "global list"])
def test_a_listed_callee_is_refused_before_anything_is_spent_written_or_dialled(owner):
    world = World(_callable())
    world.dnc.items[(owner, CALLEE)] = listed(owner, CALLEE)[0]
    with pytest.raises(DoNotCall):
        world.create(phone_number="+1 (415) 555-0123")  # compared as the number it is
    assert world.dnc.checked == [(ALICE.user_id, CALLEE)]
    assert world.calls.items == {} and world.rate_limits.spent == [] and world.livekit.calls == []


def test_a_number_without_an_outbound_trunk_cannot_place_the_call():
    world = World(a_number(plan=Plan(rule=RULE), livekit=LiveKitIds(inbound="ST_in", rule="SDR_1")))
    with pytest.raises(Conflict, match="cannot place calls"):
        world.create(from_phone_number_id="pn_1")
    assert world.calls.items == {} and world.rate_limits.spent == [] and world.livekit.calls == []


def test_another_users_number_is_not_found():
    world = World(_callable(owner_id=BOB.user_id))
    with pytest.raises(NotFound):
        world.create(from_phone_number_id="pn_1")
    assert world.calls.items == {}


def test_without_a_number_named_the_newest_that_can_call_out_is_used_even_past_the_first_page():
    # Given 120 inbound-only numbers newer than the one number with an outbound trunk
    inbound_only = [
        a_number(
            phone_number_id=f"pn_in{i:03d}", phone_number=f"+1415555{1000 + i}", created_at=f"2026-02-{i % 28 + 1:02d}"
        )
        for i in range(120)
    ]
    world = World(_callable(phone_number_id="pn_old", created_at="2025-01-01T00:00:00.000Z"), *inbound_only)
    # When Alice calls without naming a number
    world.create()
    # Then the call goes out from the old one
    assert world.only_call().from_phone_number_id == "pn_old"
    assert world.livekit.dials[0].trunk_id == "ST_out"


def test_the_newest_of_the_numbers_that_can_call_out_is_used():
    older = _callable(phone_number_id="pn_a", created_at="2025-06-01T00:00:00.000Z")
    newer = _callable(phone_number_id="pn_b", phone_number="+14155550101", created_at="2025-07-01T00:00:00.000Z")
    world = World(older, newer)
    world.create()
    assert world.only_call().from_number == "+14155550101"


def test_without_any_number_that_can_call_out_the_call_is_refused():
    world = World(a_number())
    with pytest.raises(Conflict, match="no number that can place calls"):
        world.create()
    assert world.calls.items == {}


def test_a_spent_calls_budget_refuses_the_call_before_livekit_is_asked():
    world = World(_callable(), full={"calls"})
    with pytest.raises(BudgetSpent):
        world.create()
    assert world.calls.items == {} and world.livekit.calls == []


# ---------------------------------------------------------------- move


def _moved(world: World, call: CallRecord, to: Any, changes: CallChanges | None = None, **kw: Any) -> Any:
    return calls.move(call, to, changes, store=world.store, **kw)


def test_move_goes_forward_only():
    ringing = a_call(status="ringing")
    world = World(held=(ringing,))
    assert _moved(world, ringing, CallStatus.DIALING) is None
    assert _moved(world, ringing, CallStatus.RINGING) is None
    assert world.calls.moves == []
    assert (
        _moved(world, ringing, CallStatus.IN_PROGRESS, CallChanges(answered_at=after(5))).status
        is CallStatus.IN_PROGRESS
    )


def test_an_ended_call_never_moves_again():
    busy = a_call(status="busy")
    world = World(held=(busy,))
    assert _moved(world, busy, CallStatus.COMPLETED) is None
    assert world.calls.moves == []


@pytest.mark.parametrize(
    ("start", "to", "changes", "adds"),
    [
        (
            {"status": "dialing"},
            CallStatus.IN_PROGRESS,
            CallChanges(answered_at=after(5)),
            {"status_dialing": -1, "status_in_progress": 1, "answered_calls": 1},
        ),
        (
            {"status": "in_progress", "answered_at": after(5)},
            CallStatus.COMPLETED,
            CallChanges(ended_at=after(65), duration_seconds=60),
            {"status_in_progress": -1, "status_completed": 1, "total_duration_seconds": 60, "timed_calls": 1},
        ),
        (  # answered and ended by one event: answered once
            {"status": "ringing"},
            CallStatus.COMPLETED,
            CallChanges(answered_at=after(5), ended_at=after(5), duration_seconds=0),
            {
                "status_ringing": -1,
                "status_completed": 1,
                "answered_calls": 1,
                "total_duration_seconds": 0,
                "timed_calls": 1,
            },
        ),
        (  # an answer already counted is not counted again by the end
            {"status": "in_progress", "answered_at": after(5)},
            CallStatus.COMPLETED,
            CallChanges(answered_at=after(5), ended_at=after(65), duration_seconds=60),
            {"status_in_progress": -1, "status_completed": 1, "total_duration_seconds": 60, "timed_calls": 1},
        ),
        (
            {"status": "ringing"},
            CallStatus.NO_ANSWER,
            CallChanges(ended_at=after(30), sip_status_code=480),
            {"status_ringing": -1, "status_no_answer": 1},
        ),
    ],
)
def test_move_adds_to_the_counters_what_the_change_means(start, to, changes, adds):
    call = a_call(**start)
    world = World(held=(call,))
    _moved(world, call, to, changes)
    assert world.calls.totals[ALICE.user_id] == adds
    assert world.calls.hours[(ALICE.user_id, hour_of(call.created_epoch))] == adds


def test_a_status_changed_meanwhile_is_read_again_and_the_move_counted_from_there():
    # Given a call read as dialing that a webhook moved to ringing since
    world = World(held=(a_call(status="ringing"),))
    stale = a_call(status="dialing")
    # When it is moved to in progress
    moved = _moved(world, stale, CallStatus.IN_PROGRESS, CallChanges(answered_at=after(5)))
    # Then the move is written from ringing, and counted so
    assert moved.status is CallStatus.IN_PROGRESS
    assert world.calls.moves == [("call_1", CallStatus.RINGING, CallStatus.IN_PROGRESS)]
    assert world.calls.totals[ALICE.user_id] == {"status_ringing": -1, "status_in_progress": 1, "answered_calls": 1}


def test_a_call_that_ended_meanwhile_is_not_moved():
    world = World(held=(a_call(status="canceled"),))
    assert _moved(world, a_call(status="ringing"), CallStatus.IN_PROGRESS, CallChanges(answered_at=after(5))) is None
    assert world.calls.moves == [] and world.calls.items["call_1"].status is CallStatus.CANCELED


def test_a_call_gone_meanwhile_is_not_moved():
    world = World()
    assert _moved(world, a_call(), CallStatus.RINGING) is None


def test_a_decision_is_taken_again_on_the_call_read_again():
    # Given a hangup deciding from a ringing call that was answered meanwhile
    world = World(held=(a_call(status="in_progress", answered_at=after(5)),))
    # When the end is written
    moved = _moved(world, a_call(status="ringing"), calls.ending(datetime.fromisoformat(after(45)), "hangup"))
    # Then it is a completed call with its duration, not a canceled one
    assert moved.status is CallStatus.COMPLETED and moved.duration_seconds == 40


def test_a_call_changing_at_every_attempt_is_a_conflict():
    class Restless(FakeCalls):
        def move(self, call: CallRecord, to: CallStatus, changes: CallChanges, **kw: Any) -> CallRecord:
            self.attempts = getattr(self, "attempts", 0) + 1
            raise StatusChanged("moved again")

    restless = Restless(a_call())
    with pytest.raises(Conflict):
        calls.move(a_call(), CallStatus.RINGING, store=fake_store(calls=restless))
    assert restless.attempts == calls._MOVE_ATTEMPTS


def test_an_event_applied_before_changes_nothing():
    call = a_call()
    world = World(held=(call,))
    assert _moved(world, call, CallStatus.RINGING, CallChanges(ringing_at=after(1)), event_id="EV_1") is not None
    # the same event again, from the call as the first delivery read it
    assert _moved(world, call, CallStatus.IN_PROGRESS, CallChanges(answered_at=after(2)), event_id="EV_1") is None
    assert world.calls.items["call_1"].status is CallStatus.RINGING
    assert world.calls.totals[ALICE.user_id] == {"status_dialing": -1, "status_ringing": 1}


# ---------------------------------------------------------------- hangup


def _hangup(world: World, principal: Any = ALICE) -> Any:
    return calls.hangup("call_1", principal=principal, livekit=world.livekit, store=world.store)


def test_hanging_up_an_answered_call_completes_it_with_its_duration():
    world = World(held=(a_call(status="in_progress", answered_at=after(5)),))
    details = _hangup(world)
    assert details.status is CallStatus.COMPLETED and details.end_reason == "hangup"
    assert details.duration_seconds is not None and details.duration_seconds > 0
    assert world.livekit.deleted_rooms == ["call_1"]
    assert world.calls.items["call_1"].status is CallStatus.COMPLETED


@pytest.mark.parametrize("status", ["dialing", "ringing"])
def test_hanging_up_an_unanswered_call_cancels_it(status):
    world = World(held=(a_call(status=status),))
    details = _hangup(world)
    assert details.status is CallStatus.CANCELED and details.duration_seconds is None
    assert world.calls.totals[ALICE.user_id] == {f"status_{status}": -1, "status_canceled": 1}


def test_an_ended_call_cannot_be_hung_up():
    world = World(held=(a_call(status="completed"),))
    with pytest.raises(Conflict):
        _hangup(world)
    assert world.livekit.calls == []


def test_another_users_call_cannot_be_hung_up():
    world = World(held=(a_call(status="in_progress"),))
    with pytest.raises(NotFound):
        _hangup(world, BOB)
    assert world.livekit.calls == [] and world.calls.items["call_1"].status is CallStatus.IN_PROGRESS


def test_a_hangup_answers_with_the_end_a_webhook_wrote_first():
    world = World(held=(a_call(status="in_progress", answered_at=after(5)),))

    class WebhookFirst(FakeLiveKit):
        def delete_room(self, room: str) -> None:
            super().delete_room(room)
            world.calls.items["call_1"] = world.calls.items["call_1"].model_copy(
                update={"status": CallStatus.COMPLETED, "end_reason": "callee_hangup"}
            )

    world.livekit = WebhookFirst()
    details = _hangup(world)
    assert (details.status, details.end_reason) == (CallStatus.COMPLETED, "callee_hangup")
    assert world.calls.moves == []


# ---------------------------------------------------------------- transfer

DESK = "+14155550177"


def _transferable(**config: Any) -> Any:
    return _callable(
        call_settings=CallSettings(
            transfer_config=TransferConfig(allowed_destinations=[DESK, "not a number"], **config)
        )
    )


def _transfer(world: World, **body: Any) -> Any:
    return calls.transfer(
        "call_1",
        Transfer.model_validate({"transfer_to": DESK, **body}),
        principal=ALICE,
        livekit=world.livekit,
        store=world.store,
    )


def _in_progress(**fields: Any) -> CallRecord:
    return a_call(status="in_progress", answered_at=after(5), **fields)


def test_a_cold_transfer_to_an_allowed_destination_is_made_and_recorded():
    world = World(_transferable(), held=(_in_progress(),))
    details = _transfer(world, play_dialtone=True)
    assert world.livekit.transfers == [("call_1", "sip-call_1", f"tel:{DESK}", True)]
    (entry,) = details.transfers
    assert (entry.transfer_to, entry.mode, entry.status) == (f"tel:{DESK}", "cold", "completed")
    assert world.calls.items["call_1"].transfers == details.transfers


def test_an_allowed_destination_matches_however_it_was_written():
    world = World(
        _callable(
            call_settings=CallSettings(transfer_config=TransferConfig(allowed_destinations=["+1 (415) 555-0177"]))
        ),
        held=(_in_progress(),),
    )
    _transfer(world, transfer_to=f"tel:{DESK}")
    assert world.livekit.transfers[0][2] == f"tel:{DESK}"


@pytest.mark.parametrize(
    ("number", "body"),
    [
        (_transferable(), {"transfer_to": "+14155550178"}),  # not allowed
        (_callable(), {}),  # no transfer_config: nothing allowed
        (
            _callable(
                call_settings=CallSettings(transfer_config=TransferConfig(allowed_destinations=["+19002345678"]))
            ),
            {"transfer_to": "+19002345678"},
        ),  # premium-rate, even when allowed
        (_transferable(cold_transfer_enabled=False), {}),
        (_transferable(), {"mode": "warm"}),  # warm transfers are off by default
    ],
)
def test_a_transfer_the_number_does_not_allow_is_forbidden(number, body):
    world = World(number, held=(_in_progress(),))
    with pytest.raises(Forbidden):
        _transfer(world, **body)
    assert world.livekit.calls == [] and world.calls.items["call_1"].transfers == []


def _warm(**settings: Any) -> Any:
    """Alice's number allowing warm transfers to DESK, with `settings` of its own."""
    config = TransferConfig(allowed_destinations=[DESK], warm_transfer_enabled=True)
    return _callable(call_settings=CallSettings(transfer_config=config, **settings))


def _earlier_transfer(status: str = "dialing") -> TransferRecord:
    return TransferRecord(transfer_to="tel:+14155550178", mode="warm", at=after(10), status=status)


def test_a_warm_transfer_records_its_leg_and_spends_a_call_before_it_dials_with_the_numbers_settings():
    world = World(
        _warm(
            ringing_timeout_seconds=25,
            max_call_duration_seconds=900,
            krisp_enabled=False,
            custom_headers={"X-Team": "support"},
        ),
        held=(_in_progress(transfers=[_earlier_transfer()]),),
    )
    seen: list[tuple[list[tuple[str, str]], list[str]]] = []

    class Watching(FakeLiveKit):
        def dial(self, spec: lk.Dial) -> dict[str, str]:
            recorded = [(t.transfer_to, t.status) for t in world.calls.items["call_1"].transfers]
            seen.append((recorded, world.rate_limits.budgets()))
            return super().dial(spec)

    world.livekit = Watching()
    details = _transfer(world, mode="warm")

    # the leg was written, and the calls budget spent, before LiveKit was asked to dial
    assert seen == [([("tel:+14155550178", "dialing"), (f"tel:{DESK}", "dialing")], ["calls"])]
    (dial,) = world.livekit.dials
    assert dial == lk.Dial(
        trunk_id="ST_out",
        to=DESK,
        room="call_1",
        identity=dial.identity,
        from_number="+14155550100",
        name=DESK,
        attributes={"call_id": "call_1", "transfer": "warm"},
        headers={"X-Team": "support"},
        ringing_timeout_seconds=25,
        max_call_duration_seconds=900,
        krisp_enabled=False,
    )
    assert dial.identity.startswith("transfer-call_1-")
    assert [(t.mode, t.status) for t in details.transfers] == [("warm", "dialing"), ("warm", "dialing")]
    assert details.transfers[-1].leg_identity == dial.identity
    (charge,) = world.rate_limits.spent
    assert charge.subject == "user:usr_alice"
    assert world.calls.totals[ALICE.user_id] == {"transfer_legs": 1}
    assert world.calls.hours[(ALICE.user_id, hour_of(CREATED_EPOCH))] == {"transfer_legs": 1}
    assert world.livekit.transfers == []


@pytest.mark.parametrize(
    ("failure", "seen"),
    [
        (lk.DialFailed("busy", "486 Busy Here", 486), UpstreamError),
        (InvalidInput("LiveKit refused the request as invalid"), UpstreamError),
        (UpstreamUnavailable("LiveKit is unavailable; retry shortly"), UpstreamUnavailable),
    ],
)
def test_a_warm_transfer_whose_dial_fails_is_marked_failed_and_its_call_stays_spent(failure, seen):
    world = World(_warm(), held=(_in_progress(),))
    world.livekit.fail("dial", failure)
    with pytest.raises(seen):
        _transfer(world, mode="warm")
    stored = world.calls.items["call_1"]
    assert [(t.transfer_to, t.status) for t in stored.transfers] == [(f"tel:{DESK}", "failed")]
    assert stored.status is CallStatus.IN_PROGRESS  # the call itself goes on
    assert world.rate_limits.budgets() == ["calls"] and world.calls.totals[ALICE.user_id] == {"transfer_legs": 1}


def test_a_warm_transfer_whose_failure_cannot_be_recorded_still_reports_the_dial_failure():
    world = World(_warm(), held=(_in_progress(),))
    world.livekit.fail("dial", lk.DialFailed("busy", "486 Busy Here", 486))
    world.calls.fail("set_leg_status", UpstreamUnavailable("down"))
    with pytest.raises(UpstreamError) as refused:
        _transfer(world, mode="warm")
    assert {"sip_status_code": 486} in refused.value.details
    assert [t.status for t in world.calls.items["call_1"].transfers] == ["dialing"]


def test_a_spent_calls_budget_refuses_a_warm_transfer_before_it_is_recorded_or_dialled():
    world = World(_warm(), held=(_in_progress(),), full={"calls"})
    with pytest.raises(BudgetSpent):
        _transfer(world, mode="warm")
    assert world.livekit.calls == [] and world.calls.items["call_1"].transfers == []
    assert world.calls.totals[ALICE.user_id] == {}


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_a_call_transferred_five_times_cannot_be_transferred_again(mode):
    world = World(_warm(), held=(_in_progress(transfers=[_earlier_transfer("completed")] * calls.MAX_TRANSFERS),))
    with pytest.raises(TooManyTransfers):
        _transfer(world, mode=mode)
    assert world.livekit.calls == [] and world.rate_limits.spent == []
    assert len(world.calls.items["call_1"].transfers) == calls.MAX_TRANSFERS


def test_a_fifth_warm_transfer_is_made():
    world = World(_warm(), held=(_in_progress(transfers=[_earlier_transfer()] * 4),))
    details = _transfer(world, mode="warm")
    assert len(details.transfers) == calls.MAX_TRANSFERS
    assert details.transfers[-1].leg_identity == world.livekit.dials[0].identity


def test_the_transfer_limit_holds_against_a_transfer_recorded_meanwhile():
    # Given a call read with four transfers, to which a concurrent request adds a fifth before the leg is written
    world = World(_warm(), held=(_in_progress(transfers=[_earlier_transfer()] * 4),))

    class Concurrent(FakeCalls):
        def add_leg(self, call: CallRecord, transfer: TransferRecord, **kw: Any) -> int:
            stored = self.items["call_1"]
            self.items["call_1"] = stored.model_copy(update={"transfers": [*stored.transfers, _earlier_transfer()]})
            return super().add_leg(call, transfer, **kw)

    world.calls = Concurrent(world.calls.items["call_1"], rate_limits=world.rate_limits)
    world.store = fake_store(numbers=world.numbers, calls=world.calls)
    # When Alice transfers it: then the write refuses a sixth, and nothing is dialled or spent
    with pytest.raises(TooManyTransfers):
        _transfer(world, mode="warm")
    assert world.livekit.calls == [] and world.rate_limits.spent == []
    assert len(world.calls.items["call_1"].transfers) == calls.MAX_TRANSFERS


def test_a_warm_transfer_needs_a_phone_number_and_an_outbound_trunk():
    sip_desk = "sip:desk@sip.example.com"
    allowed = TransferConfig(allowed_destinations=[sip_desk, DESK], warm_transfer_enabled=True)
    world = World(_callable(call_settings=CallSettings(transfer_config=allowed)), held=(_in_progress(),))
    with pytest.raises(InvalidInput):
        _transfer(world, mode="warm", transfer_to=sip_desk)
    world.numbers.items["pn_1"] = world.numbers.items["pn_1"].model_copy(update={"livekit": LiveKitIds()})
    with pytest.raises(Conflict, match="outbound trunk"):
        _transfer(world, mode="warm")
    assert world.livekit.calls == []


@pytest.mark.parametrize("status", ["ringing", "completed"])
def test_only_a_call_in_progress_can_be_transferred(status):
    world = World(_transferable(), held=(a_call(status=status),))
    with pytest.raises(Conflict):
        _transfer(world)
    assert world.livekit.calls == []


def test_a_cold_transfer_answered_after_the_call_ended_records_the_end_as_transferred():
    world = World(_transferable(), held=(_in_progress(),))

    class CalleeLeftFirst(FakeLiveKit):
        def transfer(self, room: str, identity: str, transfer_to: str, *, play_dialtone: bool = False) -> None:
            super().transfer(room, identity, transfer_to, play_dialtone=play_dialtone)
            world.calls.items["call_1"] = world.calls.items["call_1"].model_copy(
                update={"status": CallStatus.COMPLETED, "end_reason": "callee_hangup"}
            )

    world.livekit = CalleeLeftFirst()
    details = _transfer(world)
    assert (details.status, details.end_reason) == (CallStatus.COMPLETED, "transferred")
    assert [t.mode for t in details.transfers] == ["cold"]


def test_a_warm_transfer_to_a_call_that_ended_meanwhile_records_nothing_spends_nothing_and_dials_nothing():
    world = World(held=(_in_progress(),))

    class EndedMeanwhile(FakeNumbers):
        def get(self, phone_number_id: str) -> Any:  # the callee hangs up while the number is read
            world.calls.items["call_1"] = world.calls.items["call_1"].model_copy(
                update={"status": CallStatus.COMPLETED}
            )
            return super().get(phone_number_id)

    world.numbers = EndedMeanwhile(_warm(), rate_limits=world.rate_limits)
    world.store = fake_store(numbers=world.numbers, calls=world.calls)
    with pytest.raises(Conflict, match="ended meanwhile"):
        _transfer(world, mode="warm")
    stored = world.calls.items["call_1"]
    assert stored.status is CallStatus.COMPLETED and stored.transfers == []
    assert world.livekit.calls == [] and world.rate_limits.spent == [] and world.calls.totals[ALICE.user_id] == {}


# ---------------------------------------------------------------- events


def _post(world: World, body: dict[str, Any], principal: Any = ALICE) -> Any:
    return calls.post_events("call_1", CallEvents.model_validate(body), principal=principal, store=world.store)


TRANSCRIPT = [
    {"role": "agent", "text": "Hello", "at": "2026-01-01T10:00:01.000Z"},
    {"role": "user", "text": "Hi", "at": "2026-01-01T10:00:02+00:00"},
    {"role": "user", "text": "Hi", "at": "2026-01-01T10:00:02.000Z"},  # said twice at once: two segments
]


def test_events_add_the_segments_and_set_the_summary():
    world = World(held=(a_call(status="in_progress"),))
    accepted = _post(world, {"transcript": TRANSCRIPT, "summary": "Greetings"})
    assert (accepted.transcript_segments_added, accepted.summary_set) == (3, True)
    assert [(s.role, s.text, s.at) for s in world.calls.segments("call_1")] == [
        ("agent", "Hello", "2026-01-01T10:00:01.000Z"),
        ("user", "Hi", "2026-01-01T10:00:02.000Z"),
        ("user", "Hi", "2026-01-01T10:00:02.000Z"),
    ]
    stored = world.calls.items["call_1"]
    assert (stored.summary, stored.summary_source, stored.transcript_chars) == ("Greetings", "agent", 9)


def test_a_retried_post_with_times_stores_its_segments_once(monkeypatch):
    clock = iter(["2026-01-01T10:05:00.000Z", "2026-01-01T10:05:09.000Z"])  # the retry comes later
    monkeypatch.setattr(calls, "now_iso", lambda: next(clock))
    world = World(held=(a_call(status="in_progress"),))
    _post(world, {"transcript": TRANSCRIPT})
    first = world.calls.segments("call_1")
    _post(world, {"transcript": TRANSCRIPT})
    assert world.calls.segments("call_1") == first and len(first) == 3


def test_segments_without_a_time_get_the_time_they_were_received(monkeypatch):
    monkeypatch.setattr(calls, "now_iso", lambda: "2026-01-01T10:05:00.000Z")
    world = World(held=(a_call(status="in_progress"),))
    _post(world, {"transcript": [{"role": "agent", "text": "Bye"}]})
    assert [s.at for s in world.calls.segments("call_1")] == ["2026-01-01T10:05:00.000Z"]


def test_a_retried_post_without_times_reuses_the_time_of_the_first_and_stores_its_segments_once(monkeypatch):
    clock = iter(["2026-01-01T10:05:00.000Z", "2026-01-01T10:05:09.000Z", "2026-01-01T10:06:00.000Z"])
    monkeypatch.setattr(calls, "now_iso", lambda: next(clock))
    world = World(held=(a_call(status="in_progress"),))
    untimed = {"transcript": [{"role": "agent", "text": "Bye"}, {"role": "user", "text": "Bye", "at": after(1)}]}
    _post(world, untimed)
    _post(world, untimed)  # the retry, nine seconds later
    assert [(s.text, s.at) for s in world.calls.segments("call_1")] == [
        ("Bye", after(1)),
        ("Bye", "2026-01-01T10:05:00.000Z"),
    ]
    # another post without times gets a time of its own
    _post(world, {"transcript": [{"role": "agent", "text": "Bye again"}]})
    assert world.calls.segments("call_1")[-1].at == "2026-01-01T10:06:00.000Z"


def test_a_post_whose_segments_all_have_times_leaves_no_marker():
    world = World(held=(a_call(status="in_progress"),))
    _post(world, {"transcript": TRANSCRIPT})
    assert world.calls.post_times == {}


def test_events_on_another_users_call_are_not_found_and_store_nothing():
    world = World(held=(a_call(),))
    with pytest.raises(NotFound):
        _post(world, {"transcript": TRANSCRIPT, "summary": "mine"}, BOB)
    assert world.calls.stored_segments == {} and world.calls.items["call_1"].summary is None


def test_a_full_transcript_refuses_the_post_and_stores_nothing():
    world = World(held=(a_call(transcript_chars=calls.MAX_TRANSCRIPT_CHARS - 5),))
    _post(world, {"transcript": [{"role": "user", "text": "12345"}]})  # exactly full
    with pytest.raises(TranscriptFull):
        _post(world, {"transcript": [{"role": "user", "text": "6"}]})
    assert len(world.calls.stored_segments) == 1


# ---------------------------------------------------------------- stats


def test_stats_sum_the_counters_of_all_time_and_of_the_last_24_hours(monkeypatch):
    now = hour_of(CREATED_EPOCH) + 1800
    monkeypatch.setattr(calls, "epoch", lambda: now)
    world = World()
    counted = world.calls
    counted.totals[ALICE.user_id].update(
        total_calls=8, answered_calls=6, total_duration_seconds=600, timed_calls=4, status_completed=5, status_failed=3
    )
    counted.hours[(ALICE.user_id, hour_of(now))].update(total_calls=2, answered_calls=1, status_completed=1)
    counted.hours[(ALICE.user_id, hour_of(now) - 23 * HOUR)].update(total_calls=2, status_dialing=1, status_failed=1)
    counted.hours[(ALICE.user_id, hour_of(now) - 24 * HOUR)].update(total_calls=100)  # older than 24 hours
    counted.hours[(ALICE.user_id, hour_of(now) - 23 * HOUR)].update(status_ringing=-1)  # moved out of a later hour

    stats = calls.stats(principal=ALICE, store=world.store)

    assert (stats.total_calls, stats.answered_calls, stats.answer_rate) == (8, 6, 0.75)
    assert (stats.total_duration_seconds, stats.average_duration_seconds) == (600, 150.0)
    assert stats.by_status == {s.value: 0 for s in CallStatus} | {"completed": 5, "failed": 3}
    last = stats.last_24h
    assert (last["total_calls"], last["answered_calls"], last["answer_rate"]) == (4, 1, 0.25)
    assert last["by_status"]["dialing"] == 1 and last["by_status"]["ringing"] == 0  # never negative
    assert last["average_duration_seconds"] == 0.0


def test_stats_of_calls_made_and_ended_through_the_service_add_up():
    world = World(_callable())
    world.create()
    call = world.only_call()
    answered = calls.move(call, CallStatus.IN_PROGRESS, CallChanges(answered_at=call.created_at), store=world.store)
    ended = datetime.fromisoformat(call.created_at).timestamp() + 30
    calls.move(answered, calls.ending(datetime.fromtimestamp(ended, UTC), "hangup"), store=world.store)

    stats = calls.stats(principal=ALICE, store=world.store)

    assert (stats.total_calls, stats.answered_calls, stats.answer_rate, stats.total_duration_seconds) == (1, 1, 1.0, 30)
    assert {k: v for k, v in stats.by_status.items() if v} == {"completed": 1}
    assert stats.last_24h["total_calls"] == 1 and stats.average_duration_seconds == 30.0


def test_stats_count_the_legs_warm_transfers_dialled():
    world = World(_warm(), held=(_in_progress(),))
    _transfer(world, mode="warm")
    world.livekit.fail("dial", lk.DialFailed("busy", "486 Busy Here", 486))
    with pytest.raises(UpstreamError):
        _transfer(world, mode="warm")  # a leg that failed was dialled, and spent, all the same
    stats = calls.stats(principal=ALICE, store=world.store)
    assert stats.transfer_legs == 2 and stats.total_calls == 0
