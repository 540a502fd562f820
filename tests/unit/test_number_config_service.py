"""Configuring a number's trunks and rule with fake numbers, a fake LiveKit and fake secrets: the lock taken and
given back on every path, what survives a failure recorded, secrets written and forgotten."""

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
    NumberChanged,
    NumberLocked,
    UpstreamUnavailable,
)
from telephony.models.numbers import ClaimRecord, NumberRecord
from telephony.models.sip import ConfigLock, ConfigureRequest, Part
from telephony.services import number_config
from tests.unit.fakes import (
    ALICE,
    BOB,
    FakeLiveKit,
    FakeNumbers,
    FakeRateLimits,
    FakeSecrets,
    a_number,
    fake_store,
)

PID = "pn_1"
E164 = "+14155550100"
DOWN = UpstreamUnavailable("LiveKit is unavailable; retry shortly")
TRUNK = {"name": "main", "address": "sip.example.com", "numbers": [E164], "auth_username": "u", "auth_password": "pw"}
RULE = {"rule_name": "main", "room_prefix": "main", "agent_name": "receptionist"}


class World:
    def __init__(self, monkeypatch: Any, *numbers: NumberRecord, full: set[str] | None = None) -> None:
        self.rate_limits = FakeRateLimits(full=full)
        self.numbers = FakeNumbers(*(numbers or (a_number(),)), rate_limits=self.rate_limits)
        self.livekit = FakeLiveKit()
        self.secrets = FakeSecrets().install(monkeypatch)
        self.store = fake_store(numbers=self.numbers)

    def configure(self, principal: Any = ALICE, **body: Any) -> Any:
        return number_config.configure(
            PID, ConfigureRequest.model_validate(body), principal=principal, livekit=self.livekit, store=self.store
        )

    def delete(self, config_type: str, principal: Any = ALICE) -> Any:
        return number_config.delete(PID, config_type, principal=principal, livekit=self.livekit, store=self.store)

    @property
    def number(self) -> NumberRecord:
        return self.numbers.items[PID]

    def lock_taken_and_given_back(self) -> bool:
        writes = [method for method, pid in self.numbers.writes if pid == PID]
        return writes[:1] == ["lock"] and writes[-1] in ("save", "release") and not self.numbers.held(PID)


def _configured(monkeypatch: Any) -> World:
    """Alice's number with trunks (password "old") and a rule, configured through the service."""
    world = World(monkeypatch)
    world.configure(sip_trunk={**TRUNK, "auth_password": "old"}, dispatch_rule=RULE)
    world.livekit.calls.clear()
    world.numbers.writes.clear()
    world.rate_limits.spent.clear()
    return world


# ---------------------------------------------------------------- configure


def test_configure_makes_the_trunks_and_rule_and_records_them(monkeypatch):
    world = World(monkeypatch)

    view = world.configure(sip_trunk=TRUNK, dispatch_rule=RULE)

    assert world.livekit.methods() == ["create_inbound_trunk", "create_outbound_trunk", "create_dispatch_rule"]
    number = world.number
    assert (number.livekit.inbound, number.livekit.outbound, number.livekit.rule) == ("ST_1", "ST_2", "SDR_3")
    assert number.configuration_status == view.configuration_status == "configured"
    assert view.sip_trunk.auth_configured and view.dispatch_rule.agent_name == "receptionist"
    assert "pw" not in view.model_dump_json()
    assert world.lock_taken_and_given_back() and world.numbers.writes == [("lock", PID), ("save", PID)]
    assert number.revision == 1
    assert world.rate_limits.budgets() == ["configurations"]


def test_configure_keeps_the_password_in_a_secret_of_its_own(monkeypatch):
    world = World(monkeypatch)
    world.configure(sip_trunk=TRUNK)
    arn = world.number.auth_secret_arn
    assert arn is not None and f"/{PID}/" in arn
    assert world.secrets.values == {arn: {"inbound": "pw", "outbound": "pw"}}
    assert [password for _, _, password in world.livekit.trunks.values()] == ["pw", "pw"]
    assert "pw" not in world.number.model_dump_json()


def test_a_new_trunk_password_replaces_the_secret_and_forgets_the_old_one(monkeypatch):
    world = _configured(monkeypatch)
    old_arn = world.number.auth_secret_arn
    world.configure(sip_trunk=TRUNK)
    new_arn = world.number.auth_secret_arn
    assert new_arn != old_arn and world.secrets.deleted == [old_arn]
    assert world.secrets.values == {new_arn: {"inbound": "pw", "outbound": "pw"}}


def test_a_trunk_without_a_password_forgets_the_old_secret(monkeypatch):
    world = _configured(monkeypatch)
    old_arn = world.number.auth_secret_arn
    world.configure(sip_trunk={k: v for k, v in TRUNK.items() if not k.startswith("auth")})
    assert world.number.auth_secret_arn is None and world.secrets.values == {} and world.secrets.deleted == [old_arn]


def test_configuring_a_rule_claims_its_agent_name(monkeypatch):
    world = World(monkeypatch)
    world.configure(dispatch_rule=RULE)
    world.configure(dispatch_rule=RULE)  # one's own name again
    assert world.numbers.agent_names == {"receptionist": ALICE.user_id}


def test_an_agent_name_of_another_account_is_refused_before_the_lock(monkeypatch):
    world = World(monkeypatch)
    world.numbers.agent_names["receptionist"] = BOB.user_id
    with pytest.raises(AgentNameTaken) as refused:
        world.configure(sip_trunk=TRUNK, dispatch_rule=RULE)
    assert refused.value.details == [{"field": "agent_name", "issue": "taken"}]
    assert world.numbers.writes == [] and world.rate_limits.spent == [] and world.livekit.calls == []
    assert world.secrets.values == {}


def test_configuring_the_rule_alone_keeps_the_trunks_and_their_secret(monkeypatch):
    world = _configured(monkeypatch)
    before = world.number
    world.configure(dispatch_rule={**RULE, "agent_name": "closer"})
    assert world.livekit.methods() == ["replace_dispatch_rule"]
    assert world.number.auth_secret_arn == before.auth_secret_arn and world.secrets.deleted == []
    assert world.number.livekit == before.livekit and world.number.plan.rule.agent_name == "closer"


def test_a_livekit_failure_undoes_the_saga_gives_the_lock_back_and_forgets_the_new_secret(monkeypatch):
    world = World(monkeypatch)
    world.livekit.fail("create_outbound_trunk", DOWN)

    with pytest.raises(UpstreamUnavailable):
        world.configure(sip_trunk=TRUNK, dispatch_rule=RULE)

    assert world.livekit.trunks == {} and world.livekit.rules == {}
    assert world.numbers.writes == [("lock", PID), ("release", PID)] and not world.numbers.held(PID)
    assert world.number.livekit.inbound is None and world.number.auth_secret_arn is None
    assert world.secrets.values == {} and len(world.secrets.deleted) == 1


def test_a_failed_save_undoes_livekit_and_gives_the_lock_back(monkeypatch):
    world = _configured(monkeypatch)
    before = world.number
    old_trunks = dict(world.livekit.trunks)
    world.numbers.fail("save", UpstreamUnavailable("the database is busy; retry shortly"))

    with pytest.raises(UpstreamUnavailable):
        world.configure(sip_trunk=TRUNK)

    assert world.livekit.trunks == old_trunks  # the old specs and the old password, put back
    assert world.lock_taken_and_given_back() and world.numbers.writes[-1] == ("release", PID)
    assert world.number.plan == before.plan and world.number.auth_secret_arn == before.auth_secret_arn
    assert set(world.secrets.values) == {before.auth_secret_arn}  # the new secret forgotten, the old one kept


def test_what_survives_a_failed_undo_is_recorded(monkeypatch):
    # Given a saga whose rule fails and whose outbound trunk cannot be deleted
    world = World(monkeypatch)
    world.livekit.fail("create_dispatch_rule", DOWN)
    world.livekit.fail("delete_trunk", DOWN)
    # When Alice configures
    with pytest.raises(UpstreamUnavailable):
        world.configure(sip_trunk=TRUNK, dispatch_rule=RULE)
    # Then the number records the outbound trunk LiveKit still holds, and the lock is given back
    number = world.number
    assert number.livekit.outbound in world.livekit.trunks and len(world.livekit.trunks) == 1
    assert number.livekit.inbound is None and number.livekit.rule is None
    assert number.plan.outbound is not None and number.configuration_status == "partial"
    assert world.lock_taken_and_given_back() and world.numbers.writes[-1] == ("save", PID)


def test_a_surviving_trunk_keeps_the_secret_of_its_password(monkeypatch):
    # Given a configuration whose outbound trunk fails and whose inbound trunk cannot be undone
    world = World(monkeypatch)
    world.livekit.fail("create_outbound_trunk", DOWN)
    world.livekit.fail("delete_trunk", DOWN)
    with pytest.raises(UpstreamUnavailable):
        world.configure(sip_trunk=TRUNK)
    # Then the number records the inbound trunk, and where its password is kept
    number = world.number
    _, _, password = world.livekit.trunks[number.livekit.inbound]
    assert password == "pw" and number.plan.inbound.has_password
    assert number.auth_secret_arn is not None
    assert world.secrets.values.get(number.auth_secret_arn, {}).get("inbound") == password
    assert world.secrets.deleted == [] and world.lock_taken_and_given_back()


def test_a_new_password_that_survives_beside_an_old_one_records_its_secret_and_keeps_the_old_one(monkeypatch):
    # Given trunks with the password "old", changed to "pw": the inbound trunk replaced, the outbound one
    # refused, and the inbound trunk's undo failing
    world = _configured(monkeypatch)
    old_arn = world.number.auth_secret_arn
    world.livekit.fail("replace_outbound_trunk", DOWN)
    world.livekit.fail("replace_inbound_trunk", DOWN, skip=1)
    with pytest.raises(UpstreamUnavailable):
        world.configure(sip_trunk=TRUNK)
    # Then the number names the new secret, for the inbound trunk's password, and the old secret stays (the
    # outbound trunk still holds its password)
    number = world.number
    passwords = {part: password for part, _, password in world.livekit.trunks.values()}
    assert passwords == {Part.INBOUND: "pw", Part.OUTBOUND: "old"}
    assert number.auth_secret_arn not in (None, old_arn)
    assert world.secrets.values[number.auth_secret_arn]["inbound"] == "pw"
    assert old_arn in world.secrets.values and world.secrets.deleted == []
    assert world.lock_taken_and_given_back() and world.numbers.writes[-1] == ("save", PID)


def test_an_old_password_no_surviving_part_holds_is_forgotten(monkeypatch):
    # Given trunks with the password "old", changed to "pw" with a new rule: both trunks replaced, the rule
    # refused, and neither trunk's undo going through
    world = _configured(monkeypatch)
    old_arn = world.number.auth_secret_arn
    world.livekit.fail("replace_dispatch_rule", DOWN)
    world.livekit.fail("replace_outbound_trunk", DOWN, skip=1)
    world.livekit.fail("replace_inbound_trunk", DOWN, skip=1)
    with pytest.raises(UpstreamUnavailable):
        world.configure(sip_trunk=TRUNK, dispatch_rule={**RULE, "agent_name": "closer"})
    # Then both trunks hold the new password, the number names its secret and the old one is forgotten
    number = world.number
    assert sorted(password for _, _, password in world.livekit.trunks.values()) == ["pw", "pw"]
    assert world.secrets.values == {number.auth_secret_arn: {"inbound": "pw", "outbound": "pw"}}
    assert world.secrets.deleted == [old_arn]
    assert number.plan.rule.agent_name == "receptionist"  # the rule's undo went through
    assert world.lock_taken_and_given_back()


@pytest.mark.parametrize(
    "claim",
    [
        ClaimRecord(e164="+14155550101", holder="number", owner_id=BOB.user_id, phone_number_id="pn_bob"),
        ClaimRecord(e164="+14155550101", holder="request", owner_id=ALICE.user_id, request_id="req_1"),  # asked only
        None,  # nobody's
    ],
)
def test_a_trunk_may_only_answer_numbers_the_caller_holds(monkeypatch, claim):
    world = World(monkeypatch)
    if claim:
        world.numbers.add_claim(claim)
    with pytest.raises(InvalidInput) as refused:
        world.configure(sip_trunk={**TRUNK, "numbers": [E164, "+14155550101"]})
    assert refused.value.details == [{"field": "sip_trunk.numbers", "issue": "not_owned"}]
    assert world.numbers.writes == [] and world.rate_limits.spent == [] and world.livekit.calls == []


def test_a_trunk_may_answer_another_number_of_the_callers(monkeypatch):
    world = World(monkeypatch, a_number(), a_number(phone_number_id="pn_2", phone_number="+14155550101"))
    world.configure(sip_trunk={**TRUNK, "numbers": [E164, "+14155550101"]})
    assert world.number.plan.inbound.numbers == [E164, "+14155550101"]


def test_a_number_registered_to_an_agent_is_refused(monkeypatch):
    world = World(monkeypatch, a_number(agent_id="6f1c2d3e-0000-4000-8000-000000000001"))
    with pytest.raises(Conflict) as refused:
        world.configure(dispatch_rule=RULE)
    assert refused.value.details == [{"field": "phone_number_id", "issue": "registered"}]
    assert world.numbers.writes == [] and world.rate_limits.spent == [] and world.livekit.calls == []


def test_another_users_number_is_not_found(monkeypatch):
    world = World(monkeypatch)
    with pytest.raises(NotFound):
        world.configure(BOB, dispatch_rule=RULE)
    assert world.numbers.writes == [] and world.livekit.calls == []


def test_a_number_locked_by_another_request_is_refused_without_spending(monkeypatch):
    world = World(monkeypatch, a_number(config_lock=ConfigLock(token="theirs", until=2**40)))
    with pytest.raises(NumberLocked):
        world.configure(dispatch_rule=RULE)
    assert world.rate_limits.spent == [] and world.livekit.calls == []
    assert world.number.config_lock.token == "theirs"


def test_a_spent_configurations_budget_is_refused_before_livekit(monkeypatch):
    world = World(monkeypatch, full={"configurations"})
    with pytest.raises(BudgetSpent):
        world.configure(dispatch_rule=RULE)
    assert world.livekit.calls == [] and not world.numbers.held(PID)


class Busy(FakeNumbers):
    """Another request saves the number between each read and lock, `times` times."""

    def __init__(self, *numbers: NumberRecord, times: int) -> None:
        super().__init__(*numbers)
        self.times = times

    def lock(self, number: NumberRecord, **kw: Any) -> None:
        if self.times:
            self.times -= 1
            stored = self.items[number.phone_number_id]
            self.items[number.phone_number_id] = stored.model_copy(update={"revision": (stored.revision or 0) + 1})
        super().lock(number, **kw)


def test_a_number_saved_between_the_read_and_the_lock_is_read_again(monkeypatch):
    world = World(monkeypatch)
    world.numbers = Busy(a_number(), times=2)
    world.store = fake_store(numbers=world.numbers)
    world.configure(dispatch_rule=RULE)
    assert world.number.plan.rule is not None and world.number.revision == 3


def test_a_number_saved_at_every_attempt_is_a_conflict(monkeypatch):
    world = World(monkeypatch)
    world.numbers = Busy(a_number(), times=3)
    world.store = fake_store(numbers=world.numbers)
    with pytest.raises(Conflict) as refused:
        world.configure(dispatch_rule=RULE)
    assert not isinstance(refused.value, NumberChanged) and world.livekit.calls == []


# ---------------------------------------------------------------- delete


def test_deleting_everything_removes_the_rule_then_the_trunks_and_forgets_the_secret(monkeypatch):
    world = _configured(monkeypatch)
    arn = world.number.auth_secret_arn

    removed = world.delete("all")

    assert world.livekit.methods() == ["delete_dispatch_rule", "delete_trunk", "delete_trunk"]
    assert world.livekit.trunks == {} and world.livekit.rules == {}
    assert (removed.removed, removed.configuration_status) == (["sip_trunk", "dispatch_rule"], "unconfigured")
    number = world.number
    assert number.livekit.inbound is None and number.plan.rule is None and number.auth_secret_arn is None
    assert world.secrets.deleted == [arn] and world.secrets.values == {}
    assert world.lock_taken_and_given_back() and world.rate_limits.spent == []  # a removal spends nothing


def test_deleting_the_rule_keeps_the_trunks_and_their_secret(monkeypatch):
    world = _configured(monkeypatch)
    arn = world.number.auth_secret_arn
    removed = world.delete("dispatch_rule")
    assert removed.removed == ["dispatch_rule"] and removed.configuration_status == "partial"
    assert world.number.auth_secret_arn == arn and world.secrets.deleted == []
    assert len(world.livekit.trunks) == 2 and world.livekit.rules == {}


def test_a_failed_delete_records_what_livekit_still_holds(monkeypatch):
    world = _configured(monkeypatch)
    arn = world.number.auth_secret_arn
    world.livekit.fail("delete_trunk", DOWN)

    with pytest.raises(UpstreamUnavailable):
        world.delete("all")

    number = world.number
    assert number.livekit.rule is None and number.livekit.outbound and number.livekit.inbound
    assert number.configuration_status == "partial"
    assert number.auth_secret_arn == arn and world.secrets.deleted == []
    assert world.lock_taken_and_given_back()


def test_a_delete_whose_save_fails_gives_the_lock_back(monkeypatch):
    world = _configured(monkeypatch)
    arn = world.number.auth_secret_arn
    world.numbers.fail("save", LockLost("lost"))
    with pytest.raises(LockLost):
        world.delete("all")
    assert world.livekit.trunks == {}  # LiveKit is done: a retry finds it so
    assert world.lock_taken_and_given_back() and world.numbers.writes[-1] == ("release", PID)
    assert world.secrets.deleted == [] and arn in world.secrets.values


def test_an_unknown_config_type_is_refused_before_the_lock(monkeypatch):
    world = _configured(monkeypatch)
    with pytest.raises(InvalidInput):
        world.delete("everything")
    assert world.numbers.writes == [] and world.livekit.calls == []


def test_a_registered_numbers_configuration_cannot_be_deleted_here(monkeypatch):
    world = World(monkeypatch, a_number(agent_id="6f1c2d3e-0000-4000-8000-000000000001"))
    with pytest.raises(Conflict):
        world.delete("all")
    assert world.numbers.writes == [] and world.livekit.calls == []


def test_an_old_secret_that_cannot_be_read_gives_the_lock_back(monkeypatch):
    world = _configured(monkeypatch)
    world.secrets.fail("read_json", UpstreamUnavailable("the secret store is unavailable"))
    with pytest.raises(UpstreamUnavailable):
        world.configure(sip_trunk=TRUNK)
    assert world.lock_taken_and_given_back() and world.livekit.calls == []
    assert len(world.secrets.values) == 1  # nothing new written
