"""services/campaigns.py and services/campaign_engine.py against a fake campaigns repository: the contacts as
stored, the plans refused, and the engine's step (room for calls, the do-not-call check at dial time, the window,
the end, retries, pause, a step run again after a crash, the hand-over between runs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from telephony.errors import InvalidInput
from telephony.models.calls import CallRecord, CallStatus
from telephony.models.campaigns import (
    AttemptRecord,
    CallingWindow,
    CallSetup,
    CampaignRecord,
    CampaignSchedule,
    CampaignStatus,
    Contact,
    ContactRecord,
    ContactStatus,
    CreateCampaign,
    InFlight,
    RetryPolicy,
    SkipReason,
    TickInput,
)
from telephony.repositories.campaigns import COUNTERS, CampaignChanged, ContactChanged
from telephony.services import campaign_engine, campaigns
from tests.unit.fakes import FakeDnc, fake_store, listed

NOW = int(datetime(2026, 3, 4, 15, 0, tzinfo=UTC).timestamp())  # a Wednesday, 15:00 UTC


class FakeCampaigns:
    """Mirrors repositories.campaigns.CampaignsRepository: each write checks what the real one's condition checks."""

    def __init__(self, campaign: CampaignRecord, contacts: Sequence[ContactRecord]) -> None:
        self.campaign = campaign
        self.contacts = {c.contact_id: c for c in contacts}

    def get(self, campaign_id: str) -> CampaignRecord | None:
        return self.campaign.model_copy(deep=True) if campaign_id == self.campaign.campaign_id else None

    def contact(self, campaign_id: str, contact_id: str) -> ContactRecord | None:
        found = self.contacts.get(contact_id)
        return found.model_copy(deep=True) if found else None

    def due(self, campaign_id: str, *, now: int, limit: int) -> list[ContactRecord]:
        pending = [c for c in self.contacts.values() if c.status is ContactStatus.PENDING and c.next_at <= now]
        return [c.model_copy(deep=True) for c in sorted(pending, key=lambda c: (c.next_at, c.contact_id))[:limit]]

    def next_pending(self, campaign_id: str) -> ContactRecord | None:
        found = self.due(campaign_id, now=10**12, limit=1)
        return found[0] if found else None

    def _count(self, **adds: int) -> None:
        for name, n in adds.items():
            self.campaign.counters[name] = self.campaign.counters.get(name, 0) + n

    def claim(self, campaign: CampaignRecord, contact: ContactRecord, entry: InFlight, *, at: str) -> None:
        stored, current = self.campaign, self.contacts[contact.contact_id]
        if stored.status is not CampaignStatus.RUNNING or stored.run != campaign.run:
            raise CampaignChanged("changed")
        if len(stored.in_flight) >= stored.max_concurrency or contact.contact_id in stored.in_flight:
            raise CampaignChanged("full")
        if current.status is not ContactStatus.PENDING or len(current.attempts) != entry.attempt - 1:
            raise ContactChanged("moved")
        current.status = ContactStatus.IN_PROGRESS
        current.attempts.append(AttemptRecord(attempt=entry.attempt, call_id=entry.call_id, status="dialing", at=at))
        stored.in_flight[contact.contact_id] = entry
        self._count(pending=-1, in_progress=1, attempts=1)

    def settle(
        self,
        campaign: CampaignRecord,
        entry: InFlight,
        *,
        to: ContactStatus,
        call_status: str | None,
        next_at: int = 0,
        skip_reason: SkipReason | None = None,
        undo: bool = False,
    ) -> None:
        stored, current = self.campaign, self.contacts[entry.contact_id]
        held = stored.in_flight.get(entry.contact_id)
        if held is None or held.call_id != entry.call_id:
            raise CampaignChanged("settled")
        if current.status is not ContactStatus.IN_PROGRESS or len(current.attempts) != entry.attempt:
            raise ContactChanged("moved")
        current.status, current.next_at, current.skip_reason = to, next_at, skip_reason
        if undo:
            current.attempts.pop()
        elif call_status:
            current.attempts[-1].status = call_status
        del stored.in_flight[entry.contact_id]
        self._count(in_progress=-1, **{f"skipped_{skip_reason.value}" if skip_reason else to.value: 1})
        if undo:
            self._count(attempts=-1)

    def skip(self, campaign: CampaignRecord, contact: ContactRecord, reason: SkipReason) -> None:
        current = self.contacts[contact.contact_id]
        if current.status is not ContactStatus.PENDING:
            raise ContactChanged("moved")
        current.status, current.skip_reason = ContactStatus.SKIPPED, reason
        self._count(pending=-1, **{f"skipped_{reason.value}": 1})

    def discard(self, contact: ContactRecord) -> None:
        if self.contacts[contact.contact_id].status is ContactStatus.PENDING:
            del self.contacts[contact.contact_id]

    def postpone(self, contact: ContactRecord, next_at: int) -> None:
        self.contacts[contact.contact_id].next_at = next_at

    def transition(
        self,
        campaign: CampaignRecord,
        to: CampaignStatus,
        *,
        expect: Any,
        sets: Any = None,
        run: Any = None,
        events: Any = (),
    ) -> CampaignRecord:
        if self.campaign.status not in expect:
            raise CampaignChanged("status")
        self.campaign.status = to
        if run is not None:
            self.campaign.run = run
        return self.get(campaign.campaign_id)  # type: ignore[return-value]


class FakeCalls:
    def __init__(self) -> None:
        self.calls: dict[str, CallRecord] = {}

    def get_many(self, call_ids: Sequence[str]) -> dict[str, CallRecord]:
        return {c: self.calls[c] for c in call_ids if c in self.calls}

    def put(self, call_id: str, status: CallStatus, *, answered: bool = False) -> None:
        self.calls[call_id] = CallRecord(
            call_id=call_id,
            owner_id="usr_alice",
            status=status,
            phone_number="+14155550101",
            from_number="+14155550142",
            room_name=call_id,
            participant_identity=f"sip-{call_id}",
            created_at="2026-03-04T15:00:00.000Z",
            created_epoch=NOW,
            answered_at="2026-03-04T15:00:01.000Z" if answered else None,
        )


def a_campaign(*, max_concurrency: int = 2, **fields: Any) -> CampaignRecord:
    return CampaignRecord(
        campaign_id="cmp_test",
        owner_id="usr_alice",
        name="t",
        status=CampaignStatus.RUNNING,
        from_phone_number_id="pn_1",
        setup=CallSetup(agent_name="agent"),
        max_concurrency=max_concurrency,
        counters=dict.fromkeys(COUNTERS, 0),
        batches=[0],
        run="r1",
        created_at="2026-03-04T14:00:00.000Z",
        updated_at="2026-03-04T14:00:00.000Z",
        **fields,
    )


def contacts(*numbers: str) -> list[ContactRecord]:
    return [
        ContactRecord(
            campaign_id="cmp_test",
            contact_id=campaigns.contact_id(0, i),
            batch=0,
            phone_number=n,
            status=ContactStatus.PENDING,
        )
        for i, n in enumerate(numbers)
    ]


@pytest.fixture
def placed(monkeypatch) -> list[InFlight]:
    """Each attempt the engine places (services/calls.py has its own tests): recorded, and live."""
    seen: list[InFlight] = []

    def place(campaign: Any, contact: Any, entry: InFlight, *, at: int, db: Any) -> campaign_engine.Place:
        seen.append(entry)
        return campaign_engine.Place(True)

    monkeypatch.setattr(campaign_engine, "_place", place)
    return seen


def engine(
    campaign: CampaignRecord, numbers: Sequence[str], dnc: FakeDnc | None = None
) -> tuple[Any, FakeCampaigns, FakeCalls]:
    repo = FakeCampaigns(campaign, contacts(*numbers))
    repo.campaign.counters.update(total=len(numbers), pending=len(numbers))
    calls = FakeCalls()
    return fake_store(campaigns=repo, calls=calls, dnc=dnc or FakeDnc()), repo, calls


# ---------------------------------------------------------------- contacts and plans


def test_contacts_are_stored_in_e164_once_each_and_invalid_ones_are_kept_skipped():
    given = [Contact(phone_number=n) for n in ("+1 415 555 0101", "+14155550101", "nope", "+14155550102")]

    prepared = campaigns.prepare_contacts("cmp_test", 3, given)

    assert [(c.phone_number, c.status, c.skip_reason) for c in prepared.contacts] == [
        ("+14155550101", ContactStatus.PENDING, None),
        ("nope", ContactStatus.SKIPPED, SkipReason.INVALID),
        ("+14155550102", ContactStatus.PENDING, None),
    ]
    assert prepared.duplicates == 1 and [i.field for i in prepared.invalid] == ["contacts[2].phone_number"]
    assert [c.contact_id for c in prepared.contacts] == ["000300000", "000300002", "000300003"]


def test_no_valid_contact_is_400_naming_each():
    with pytest.raises(InvalidInput) as refused:
        campaigns.prepare_contacts("cmp_test", 0, [Contact(phone_number="x"), Contact(phone_number="+1900")])
    assert [d["field"] for d in refused.value.details] == ["contacts[0].phone_number", "contacts[1].phone_number"]


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"calling_window": CallingWindow(start="10:00", end="10:00")}, "calling_window.end"),
        ({"calling_window": CallingWindow(timezone="Nowhere/City")}, "calling_window.timezone"),
        ({"schedule": CampaignSchedule(end_at="2026-03-04T14:00:00Z")}, "schedule.end_at"),
        (
            {"schedule": CampaignSchedule(start_at="2026-03-05T10:00:00Z", end_at="2026-03-05T09:00:00Z")},
            "schedule.end_at",
        ),
        (  # a Saturday-only window within a week's Monday to Friday
            {
                "schedule": CampaignSchedule(start_at="2026-03-09T00:00:00Z", end_at="2026-03-13T23:00:00Z"),
                "calling_window": CallingWindow(days=["sat"], timezone="UTC"),
            },
            "calling_window",
        ),
    ],
)
def test_impossible_plans_are_400_naming_the_field(plan, field):
    body = CreateCampaign.model_construct(
        **{
            "name": "t",
            "from_phone_number_id": "pn_1",
            "contacts": [],
            "schedule": None,
            "calling_window": None,
            **plan,
        }
    )
    with pytest.raises(InvalidInput) as refused:
        campaigns.check_plan(body, at=datetime.fromtimestamp(NOW, UTC))
    assert refused.value.details[0]["field"] == field


# ---------------------------------------------------------------- the step


def test_a_step_dials_only_while_there_is_room(placed):
    store, repo, _ = engine(a_campaign(max_concurrency=2), ["+14155550101", "+14155550102", "+14155550103"])

    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]
    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]

    assert [e.contact_id for e in placed] == ["000000000", "000000001"]
    assert repo.campaign.counters["in_progress"] == 2 and repo.campaign.counters["pending"] == 1


def test_each_attempt_has_its_own_call_id_derived_from_campaign_contact_and_attempt(placed):
    store, repo, calls = engine(
        a_campaign(max_concurrency=1, retry=RetryPolicy(on=["busy"], max_attempts=2, delay_seconds=60)),
        ["+14155550101"],
    )
    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]
    calls.put(placed[0].call_id, CallStatus.BUSY)

    campaign_engine.settle_ended(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]
    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW + 59, db=store)  # type: ignore[arg-type]
    assert len(placed) == 1  # not before the delay
    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW + 60, db=store)  # type: ignore[arg-type]
    calls.put(placed[1].call_id, CallStatus.BUSY)
    campaign_engine.settle_ended(repo.get("cmp_test"), at=NOW + 61, db=store)  # type: ignore[arg-type]

    assert [e.attempt for e in placed] == [1, 2] and placed[0].call_id != placed[1].call_id
    again = InFlight(contact_id="000000000", attempt=1, call_id=placed[0].call_id, claimed_at=NOW)
    assert placed[0].call_id == again.call_id
    (contact,) = repo.contacts.values()
    assert contact.status is ContactStatus.BUSY and [a.status for a in contact.attempts] == ["busy", "busy"]
    assert repo.campaign.counters["busy"] == 1 and repo.campaign.counters["attempts"] == 2


def test_a_listed_number_is_skipped_at_dial_time(placed):
    lists = FakeDnc()
    lists.items[("usr_alice", "+14155550102")] = listed("usr_alice", "+14155550102")[0]
    store, repo, _ = engine(a_campaign(max_concurrency=5), ["+14155550101", "+14155550102"], dnc=lists)

    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]

    assert [e.contact_id for e in placed] == ["000000000"]
    assert repo.campaign.counters["skipped_do_not_call"] == 1


def test_outside_the_window_a_contact_waits_for_its_opening_and_after_the_end_is_skipped(placed):
    window = CallingWindow(start="16:00", end="18:00", timezone="UTC")
    store, repo, _ = engine(
        a_campaign(calling_window=window, schedule=CampaignSchedule(end_at="2026-03-05T17:00:00Z")),
        ["+14155550101"],
    )
    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]
    assert placed == [] and repo.contacts["000000000"].next_at == NOW + 3600

    late = a_campaign(calling_window=window, schedule=CampaignSchedule(end_at="2026-03-04T15:30:00Z"))
    store, repo, _ = engine(late, ["+14155550101"])
    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]
    assert placed == [] and repo.campaign.counters["skipped_window_closed"] == 1


def test_a_paused_campaign_claims_nothing_and_its_step_ends_once_its_calls_have(placed):
    store, repo, calls = engine(a_campaign(max_concurrency=1), ["+14155550101", "+14155550102"])
    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]
    calls.put(placed[0].call_id, CallStatus.IN_PROGRESS, answered=True)  # live
    repo.campaign.status = CampaignStatus.PAUSED

    assert campaign_engine.tick(TickInput(campaign_id="cmp_test", run="r1"), store=store).action == "wait"
    calls.put(placed[0].call_id, CallStatus.COMPLETED, answered=True)
    assert campaign_engine.tick(TickInput(campaign_id="cmp_test", run="r1"), store=store).action == "done"
    assert len(placed) == 1 and repo.campaign.counters["answered"] == 1 and repo.campaign.counters["pending"] == 1


def test_a_step_that_died_after_its_claim_places_the_same_call_when_run_again(placed):
    store, repo, _ = engine(a_campaign(max_concurrency=1), ["+14155550101"])
    entry = InFlight(contact_id="000000000", attempt=1, call_id="call_derived", claimed_at=NOW)
    repo.claim(repo.get("cmp_test"), repo.contacts["000000000"], entry, at="x")  # type: ignore[arg-type]

    campaign_engine.settle_ended(repo.get("cmp_test"), at=NOW + 1, db=store)  # type: ignore[arg-type]

    assert placed == [entry]


def test_a_run_not_in_charge_waits_a_moment_for_its_request_then_ends():
    store, _, _ = engine(a_campaign(), [])
    waiting = campaign_engine.tick(TickInput(campaign_id="cmp_test", run="other", ticks=0), store=store)
    given_up = campaign_engine.tick(
        TickInput(campaign_id="cmp_test", run="other", ticks=campaign_engine.ADOPTION_STEPS), store=store
    )
    assert (waiting.action, given_up.action) == ("wait", "done")


def test_a_running_campaign_with_nothing_left_completes(placed):
    store, repo, _ = engine(a_campaign(), [])
    assert campaign_engine.tick(TickInput(campaign_id="cmp_test", run="r1"), store=store).action == "done"
    assert repo.campaign.status is CampaignStatus.COMPLETED


def test_a_long_run_hands_over_to_a_new_execution(placed):
    store, _, _ = engine(a_campaign(max_concurrency=1), ["+14155550101"])
    step = campaign_engine.tick(TickInput(campaign_id="cmp_test", run="r1", generation=2, ticks=499), store=store)
    assert (step.action, step.generation, step.ticks, step.next_execution) == ("continue", 3, 0, "cmp_test-r1-3")


def test_each_call_is_the_campaigns_setup_with_the_contacts_metadata_over_it():
    setup = CallSetup(agent_name="agent", system_prompt="Be brief", metadata={"team": "a", "crm": "x"}, record=None)
    campaign = a_campaign().model_copy(update={"setup": setup})
    (contact,) = contacts("+14155550101")
    contact.metadata = {"crm": "C-1"}

    request = campaign_engine._request(campaign, contact)

    assert request.phone_number == "+14155550101" and request.from_phone_number_id == "pn_1"
    assert request.agent_name == "agent" and request.system_prompt == "Be brief"
    assert request.metadata == {"team": "a", "crm": "C-1"}


def test_contacts_of_a_batch_never_counted_in_are_dropped_once_the_campaign_runs(placed):
    store, repo, _ = engine(a_campaign(max_concurrency=5), ["+14155550101", "+14155550102"])
    stray = repo.contacts["000000001"].model_copy(update={"batch": 7, "contact_id": "000700000"})
    repo.contacts = {"000000000": repo.contacts["000000000"], "000700000": stray}
    repo.campaign.counters.update(total=1, pending=1)

    campaign_engine.dial_due(repo.get("cmp_test"), at=NOW, db=store)  # type: ignore[arg-type]

    assert [e.contact_id for e in placed] == ["000000000"] and list(repo.contacts) == ["000000000"]
