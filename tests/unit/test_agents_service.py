"""Registering numbers for agents with fake numbers, a fake LiveKit and fake secrets: the number made or
attached, locked and given back on every path; what a failure leaves; what unregistering keeps."""

from __future__ import annotations

from typing import Any

import pytest

from telephony.errors import (
    AgentNameTaken,
    BudgetSpent,
    Conflict,
    InvalidInput,
    LockLost,
    NotFound,
    UpstreamUnavailable,
)
from telephony.models.numbers import ClaimRecord, NumberRecord
from telephony.models.principal import Principal, Role
from telephony.models.sip import LiveKitIds, Part, RegisterPhoneNumber
from telephony.services import agents
from tests.unit.fakes import ALICE, BOB, FakeLiveKit, FakeNumbers, FakeRateLimits, FakeSecrets, a_number, fake_store

AGENT = "6f1c2d3e-0000-4000-8000-000000000001"
OTHER_AGENT = "6f1c2d3e-0000-4000-8000-000000000002"
E164 = "+14155550100"
DOWN = UpstreamUnavailable("LiveKit is unavailable; retry shortly")
TWILIO = {
    "phone_number": E164,
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "sip.example.com",
    "auth_username": "u",
    "auth_password": "pw",
    "ringing_timeout_seconds": 20,
    "metadata": {"agent_name": "receptionist"},
}
ASSIGNED = a_number(phone_number_id="pn_req", request_id="req_1", provider="telnyx", assigned_provider="telnyx")
ADMIN = Principal(user_id="usr_admin", role=Role.ADMIN, auth_type="jwt")
LIVEKIT = {"provider": "livekit", "enable_outbound": False, "auth_username": None, "auth_password": None}


class World:
    def __init__(self, monkeypatch: Any, *numbers: NumberRecord, full: set[str] | None = None) -> None:
        self.rate_limits = FakeRateLimits(full=full)
        self.numbers = FakeNumbers(*numbers, rate_limits=self.rate_limits)
        self.livekit = FakeLiveKit()
        self.secrets = FakeSecrets().install(monkeypatch)
        self.store = fake_store(numbers=self.numbers)

    def register(self, principal: Any = ALICE, agent: str = AGENT, **body: Any) -> Any:
        return agents.register(
            agent,
            RegisterPhoneNumber.model_validate({**TWILIO, **body}),
            principal=principal,
            livekit=self.livekit,
            store=self.store,
        )

    def unregister(self, pid: str, principal: Any = ALICE, agent: str = AGENT) -> Any:
        return agents.unregister(agent, pid, principal=principal, livekit=self.livekit, store=self.store)

    def only_number(self) -> NumberRecord:
        (number,) = self.numbers.items.values()
        return number

    def nothing_happened(self) -> bool:
        return self.numbers.writes == [] and self.rate_limits.spent == [] and self.livekit.calls == []


def _registered(monkeypatch: Any, *numbers: NumberRecord) -> tuple[World, NumberRecord]:
    world = World(monkeypatch, *numbers)
    made = world.register()
    world.livekit.calls.clear()
    world.numbers.writes.clear()
    return world, world.numbers.items[made.phone_number_id]


# ---------------------------------------------------------------- register


def test_registering_a_new_number_makes_it_locked_then_saves_it_registered(monkeypatch):
    world = World(monkeypatch)

    made = world.register()

    number = world.only_number()
    pid = number.phone_number_id
    assert world.numbers.writes == [("create", pid), ("save", pid)] and not world.numbers.held(pid)
    assert world.rate_limits.budgets() == ["configurations"]
    assert world.livekit.methods() == ["create_inbound_trunk", "create_outbound_trunk", "create_dispatch_rule"]
    rule = world.livekit.rules[number.livekit.rule]
    assert (rule.agent_name, rule.room_prefix, rule.trunk_ids) == ("receptionist", "agent-6f1c2d3e", ["ST_1"])
    assert (number.agent_id, number.provider, number.assigned_provider) == (AGENT, "twilio", None)
    assert number.call_settings.ringing_timeout_seconds == 20
    assert number.registration.auth_username == "u" and "pw" not in number.model_dump_json()
    assert world.secrets.values == {number.auth_secret_arn: {"inbound": "pw", "outbound": "pw"}}
    assert (made.phone_number_id, made.agent_id, made.dispatch_rule_id) == (pid, AGENT, number.livekit.rule)
    assert made.outbound_enabled and made.inbound_trunk_id == "ST_1" and made.outbound_trunk_id == "ST_2"


def test_a_livekit_number_assigned_through_a_request_gets_a_rule_for_the_number_and_no_trunk(monkeypatch):
    world = World(monkeypatch, a_number(request_id="req_1", provider="livekit", assigned_provider="livekit"))
    world.register(**LIVEKIT, outbound_address=None)
    number = world.only_number()
    assert world.livekit.methods() == ["create_dispatch_rule"]
    assert world.livekit.rules[number.livekit.rule].numbers == [E164]
    assert number.configuration_status == "configured" and number.auth_secret_arn is None
    assert world.numbers.writes == [("lock", "pn_1"), ("save", "pn_1")]


def test_a_livekit_number_nobody_assigned_is_refused_to_a_user(monkeypatch):
    world = World(monkeypatch)
    with pytest.raises(Conflict) as refused:
        world.register(**LIVEKIT)
    assert refused.value.details == [{"field": "phone_number", "issue": "not_assigned"}]
    assert world.numbers.items == {} and world.numbers.writes == [] and world.livekit.calls == []
    assert world.rate_limits.spent == []


def test_an_admin_may_register_a_livekit_number_nobody_assigned(monkeypatch):
    world = World(monkeypatch)
    world.register(ADMIN, **LIVEKIT)
    number = world.only_number()
    assert number.owner_id == ADMIN.user_id and number.provider == "livekit"
    assert world.livekit.methods() == ["create_dispatch_rule"]
    assert world.livekit.rules[number.livekit.rule].numbers == [E164]


def test_a_livekit_number_held_by_another_user_is_refused_even_to_an_admin(monkeypatch):
    world = World(monkeypatch, a_number(owner_id=BOB.user_id, provider="livekit"))
    with pytest.raises(Conflict):
        world.register(ADMIN, **LIVEKIT)
    assert world.numbers.writes == [] and world.livekit.calls == []


# ---------------------------------------------------------------- agent names


def test_registering_claims_the_agent_name_of_the_metadata(monkeypatch):
    world = World(monkeypatch)
    world.register()
    assert world.numbers.agent_names == {"receptionist": ALICE.user_id}


def test_without_an_agent_name_the_agent_id_is_the_name_claimed_and_dispatched(monkeypatch):
    world = World(monkeypatch)
    world.register(metadata={})
    number = world.only_number()
    assert world.numbers.agent_names == {AGENT: ALICE.user_id}
    assert world.livekit.rules[number.livekit.rule].agent_name == AGENT


def test_an_agent_name_of_another_account_is_refused_before_anything(monkeypatch):
    world = World(monkeypatch)
    world.numbers.agent_names["receptionist"] = BOB.user_id
    with pytest.raises(AgentNameTaken):
        world.register()
    assert world.nothing_happened() and world.numbers.items == {} and world.secrets.values == {}


def test_an_agent_id_used_as_the_name_by_another_account_is_refused(monkeypatch):
    world = World(monkeypatch)
    world.numbers.agent_names[AGENT] = BOB.user_id
    with pytest.raises(AgentNameTaken):
        world.register(metadata={})
    assert world.nothing_happened()


@pytest.mark.parametrize(
    "name",
    ["two words", "a/b", "x" * 129, 7, ["receptionist"], {"name": "receptionist"}, True, "ümlaut"],
)
def test_a_metadata_agent_name_must_be_a_name(monkeypatch, name):
    world = World(monkeypatch)
    with pytest.raises(InvalidInput) as refused:
        world.register(metadata={"agent_name": name})
    assert refused.value.details == [{"field": "metadata.agent_name"}]
    assert world.nothing_happened() and world.numbers.agent_names == {}


@pytest.mark.parametrize("name", ["a", "x" * 128, "Sales_Agent-2.v1"])
def test_a_metadata_agent_name_of_the_pattern_is_dispatched(monkeypatch, name):
    world = World(monkeypatch)
    world.register(metadata={"agent_name": name})
    assert [r.agent_name for r in world.livekit.rules.values()] == [name]


def test_outbound_calling_from_a_livekit_number_is_refused_before_anything(monkeypatch):
    world = World(monkeypatch)
    with pytest.raises(InvalidInput):
        world.register(provider="livekit", auth_username=None, auth_password=None)
    assert world.nothing_happened() and world.numbers.items == {}


def test_registering_a_number_assigned_through_a_request_attaches_to_it(monkeypatch):
    world = World(monkeypatch, ASSIGNED)
    world.register()
    number = world.only_number()
    assert world.numbers.writes == [("lock", "pn_req"), ("save", "pn_req")] and not world.numbers.held("pn_req")
    assert (number.agent_id, number.provider, number.assigned_provider) == (AGENT, "twilio", "telnyx")
    assert number.request_id == "req_1" and world.rate_limits.budgets() == ["configurations"]


@pytest.mark.parametrize(
    "claim",
    [
        ClaimRecord(e164=E164, holder="number", owner_id=BOB.user_id, phone_number_id="pn_bob"),
        ClaimRecord(e164=E164, holder="request", owner_id=BOB.user_id, request_id="req_bob"),
        ClaimRecord(e164=E164, holder="request", owner_id=ALICE.user_id, request_id="req_open"),  # not decided yet
    ],
)
def test_a_number_held_or_requested_otherwise_is_refused(monkeypatch, claim):
    world = World(monkeypatch)
    world.numbers.add_claim(claim)
    with pytest.raises(Conflict):
        world.register()
    assert world.nothing_happened()


def test_a_number_already_configured_is_refused_and_its_lock_never_taken(monkeypatch):
    world = World(monkeypatch, ASSIGNED.model_copy(update={"livekit": LiveKitIds(outbound="ST_9")}))
    with pytest.raises(Conflict, match="already registered or configured"):
        world.register()
    assert world.nothing_happened()


def test_a_spent_configurations_budget_makes_no_number(monkeypatch):
    world = World(monkeypatch, full={"configurations"})
    with pytest.raises(BudgetSpent):
        world.register()
    assert world.numbers.items == {} and world.livekit.calls == []


def test_a_new_number_whose_registration_fails_in_livekit_is_deleted(monkeypatch):
    world = World(monkeypatch)
    world.livekit.fail("create_dispatch_rule", DOWN)

    with pytest.raises(UpstreamUnavailable):
        world.register()

    assert world.numbers.items == {} and world.numbers.claimed == {}
    assert [method for method, _ in world.numbers.writes] == ["create", "delete"]
    assert world.livekit.trunks == {} and world.livekit.rules == {}
    assert world.secrets.values == {} and len(world.secrets.deleted) == 1


def test_a_new_number_whose_save_fails_is_deleted_and_livekit_undone(monkeypatch):
    world = World(monkeypatch)
    world.numbers.fail("save", UpstreamUnavailable("the database is busy; retry shortly"))
    with pytest.raises(UpstreamUnavailable):
        world.register()
    assert world.numbers.items == {} and world.livekit.trunks == {} and world.livekit.rules == {}
    assert world.secrets.values == {}


def test_a_new_number_keeps_what_livekit_still_holds_when_an_undo_fails(monkeypatch):
    world = World(monkeypatch)
    world.livekit.fail("create_dispatch_rule", DOWN)
    world.livekit.fail("delete_trunk", DOWN)  # the outbound trunk's undo

    with pytest.raises(UpstreamUnavailable):
        world.register()

    number = world.only_number()
    assert number.livekit.outbound in world.livekit.trunks and len(world.livekit.trunks) == 1
    assert number.agent_id is None and number.configuration_status == "partial"
    assert not world.numbers.held(number.phone_number_id)
    # the surviving trunk was made with the password: the number names the secret that keeps it
    assert world.livekit.trunks[number.livekit.outbound][2] == "pw"
    assert world.secrets.values[number.auth_secret_arn]["outbound"] == "pw" and world.secrets.deleted == []


def test_a_surviving_rule_alone_keeps_no_secret(monkeypatch):
    # Given a registration whose save fails and whose rule cannot be deleted (the trunks can)
    world = World(monkeypatch)
    world.numbers.fail("save", UpstreamUnavailable("the database is busy; retry shortly"))
    world.livekit.fail("delete_dispatch_rule", DOWN)
    with pytest.raises(UpstreamUnavailable):
        world.register()
    # Then the number records the rule, and the secret of the trunks that went is forgotten
    number = world.only_number()
    assert (number.livekit.rule, number.livekit.inbound, number.livekit.outbound) == (
        next(iter(world.livekit.rules)),
        None,
        None,
    )
    assert world.livekit.trunks == {} and number.plan.get(Part.RULE) is not None
    assert number.auth_secret_arn is None and world.secrets.values == {} and len(world.secrets.deleted) == 1


def test_an_existing_number_whose_registration_fails_is_given_back_unchanged(monkeypatch):
    world = World(monkeypatch, ASSIGNED)
    world.livekit.fail("create_outbound_trunk", DOWN)
    with pytest.raises(UpstreamUnavailable):
        world.register()
    number = world.only_number()
    assert world.numbers.writes == [("lock", "pn_req"), ("release", "pn_req")] and not world.numbers.held("pn_req")
    assert (number.agent_id, number.provider, number.livekit) == (None, "telnyx", LiveKitIds())
    assert world.livekit.trunks == {}


def test_a_secret_that_cannot_be_written_deletes_the_new_number(monkeypatch):
    world = World(monkeypatch)
    world.secrets.fail("write_json", UpstreamUnavailable("the secret store is unavailable; retry shortly"))
    with pytest.raises(UpstreamUnavailable):
        world.register()
    assert world.numbers.items == {} and world.livekit.calls == []


def test_an_agent_id_that_is_not_a_uuid_is_refused(monkeypatch):
    world = World(monkeypatch)
    with pytest.raises(InvalidInput):
        world.register(agent="agent-1")
    assert world.nothing_happened()


# ---------------------------------------------------------------- unregister


def test_unregistering_a_request_assigned_number_keeps_the_number_and_its_assigned_provider(monkeypatch):
    world, number = _registered(monkeypatch, ASSIGNED)
    arn = number.auth_secret_arn

    world.unregister("pn_req")

    assert world.livekit.methods() == ["delete_dispatch_rule", "delete_trunk", "delete_trunk"]
    assert world.livekit.trunks == {} and world.livekit.rules == {}
    kept = world.only_number()
    assert (kept.request_id, kept.provider, kept.agent_id) == ("req_1", "telnyx", None)
    assert (kept.registration, kept.call_settings, kept.registered_at, kept.auth_secret_arn) == (None,) * 4
    assert kept.livekit == LiveKitIds() and kept.configuration_status == "unconfigured"
    assert world.numbers.writes == [("lock", "pn_req"), ("save", "pn_req")] and not world.numbers.held("pn_req")
    assert world.secrets.deleted == [arn] and world.secrets.values == {}
    assert world.numbers.claimed[E164].phone_number_id == "pn_req"


def test_a_number_registered_again_after_unregistering_still_gives_back_its_assigned_provider(monkeypatch):
    world, _ = _registered(monkeypatch, ASSIGNED)
    world.unregister("pn_req")
    world.register()
    assert (world.only_number().provider, world.only_number().assigned_provider) == ("twilio", "telnyx")
    world.unregister("pn_req")
    assert world.only_number().provider == "telnyx"


def test_unregistering_a_number_made_by_its_registration_deletes_it(monkeypatch):
    world, number = _registered(monkeypatch)
    pid = number.phone_number_id
    done = world.unregister(pid)
    assert (done.phone_number_id, done.agent_id, done.status) == (pid, AGENT, "unregistered")
    assert world.numbers.items == {} and world.numbers.claimed == {}
    assert world.numbers.writes == [("lock", pid), ("delete", pid)]
    assert world.secrets.deleted == [number.auth_secret_arn]


@pytest.mark.parametrize(("principal", "agent"), [(ALICE, OTHER_AGENT), (BOB, AGENT)])
def test_a_number_not_registered_to_this_agent_of_the_caller_is_not_found(monkeypatch, principal, agent):
    world, number = _registered(monkeypatch)
    with pytest.raises(NotFound):
        world.unregister(number.phone_number_id, principal, agent)
    assert world.numbers.writes == [] and world.livekit.calls == []


def test_a_failed_unregister_records_what_livekit_still_holds(monkeypatch):
    world, number = _registered(monkeypatch)
    world.livekit.fail("delete_trunk", DOWN, skip=1)  # the outbound trunk goes, the inbound one stays

    with pytest.raises(UpstreamUnavailable):
        world.unregister(number.phone_number_id)

    kept = world.only_number()
    assert (kept.livekit.rule, kept.livekit.outbound, kept.livekit.inbound) == (None, None, number.livekit.inbound)
    assert kept.agent_id == AGENT and not world.numbers.held(kept.phone_number_id)
    assert world.secrets.deleted == [] and kept.auth_secret_arn in world.secrets.values


def test_an_unregister_whose_delete_fails_gives_the_lock_back(monkeypatch):
    world, number = _registered(monkeypatch)
    pid = number.phone_number_id
    world.numbers.fail("delete", LockLost("lost"))
    with pytest.raises(LockLost):
        world.unregister(pid)
    assert world.livekit.trunks == {} and world.numbers.writes == [("lock", pid), ("release", pid)]
    assert not world.numbers.held(pid) and world.secrets.deleted == []


def test_a_registration_is_listed_under_its_agent(monkeypatch):
    world, number = _registered(monkeypatch)
    page = agents.list_for_agent(AGENT, principal=ALICE, limit=10, next_token=None, store=world.store)
    assert [n.phone_number_id for n in page.items] == [number.phone_number_id]
    assert agents.list_for_agent(OTHER_AGENT, principal=ALICE, limit=10, next_token=None, store=world.store).items == []
    assert agents.list_for_agent(AGENT, principal=BOB, limit=10, next_token=None, store=world.store).items == []
