"""The provisioning saga against a fake LiveKit: the order of the steps, what they are bound to, and what
survives a failure (which must be exactly what LiveKit holds)."""

from __future__ import annotations

import pytest

from telephony.errors import LockLost, NotFound, UpstreamError, UpstreamUnavailable
from telephony.models.sip import DispatchRule, InboundTrunk, LiveKitIds, OutboundTrunk, Part, Plan
from telephony.services import provisioning
from telephony.services.provisioning import Provisioned, ProvisioningFailed
from tests.unit.fakes import FakeLiveKit

E164 = "+14155550100"
INBOUND = InboundTrunk(name="main", numbers=[E164], auth_username="u", has_password=True)
OUTBOUND = OutboundTrunk(name="main", address="sip.example.com", numbers=[E164], auth_username="u", has_password=True)
RULE = DispatchRule(name="main", room_prefix="main", agent_name="receptionist")
EVERYTHING = Plan(inbound=INBOUND, outbound=OUTBOUND, rule=RULE)
NOTHING = Provisioned(Plan(), LiveKitIds())
PASSWORDS = {Part.INBOUND: "new-in", Part.OUTBOUND: "new-out"}
DOWN = UpstreamUnavailable("LiveKit is unavailable; retry shortly")


def _apply(plan: Plan, current: Provisioned, livekit: FakeLiveKit, old: dict[Part, str] | None = None) -> Provisioned:
    return provisioning.apply(plan, current, PASSWORDS, old or {}, livekit, number=E164).result


def _marked(spec, part: Part):
    return spec.model_copy(update={"metadata": provisioning.marker(E164, part)})


def _held(livekit: FakeLiveKit) -> Provisioned:
    """What the fake LiveKit holds, as a Provisioned (one resource per part at most)."""
    plan, ids = Plan(), LiveKitIds()
    for trunk_id, (part, spec, _) in livekit.trunks.items():
        plan, ids = plan.with_part(part, spec), ids.with_part(part, trunk_id)
    for rule_id, rule in livekit.rules.items():
        plan, ids = plan.with_part(Part.RULE, rule), ids.with_part(Part.RULE, rule_id)
    return Provisioned(plan, ids)


def _existing(livekit: FakeLiveKit) -> Provisioned:
    """A number configured earlier: its three parts in LiveKit, with the old passwords."""
    applied = provisioning.apply(
        Plan(
            inbound=INBOUND.model_copy(update={"name": "old"}),
            outbound=OUTBOUND.model_copy(update={"name": "old"}),
            rule=RULE.model_copy(update={"name": "old"}),
        ),
        NOTHING,
        {Part.INBOUND: "old-in", Part.OUTBOUND: "old-out"},
        {},
        livekit,
        number=E164,
    )
    livekit.calls.clear()
    return applied.result


# ---------------------------------------------------------------- apply


def test_apply_creates_the_inbound_trunk_then_the_outbound_one_then_the_rule():
    livekit = FakeLiveKit()
    result = _apply(EVERYTHING, NOTHING, livekit)

    assert livekit.methods() == ["create_inbound_trunk", "create_outbound_trunk", "create_dispatch_rule"]
    assert result == _held(livekit)  # what is recorded is what LiveKit holds
    inbound_id = result.ids.inbound
    assert livekit.trunks[inbound_id] == (Part.INBOUND, _marked(INBOUND, Part.INBOUND), "new-in")
    assert livekit.trunks[result.ids.outbound] == (Part.OUTBOUND, _marked(OUTBOUND, Part.OUTBOUND), "new-out")
    rule = livekit.rules[result.ids.rule]
    assert (rule.trunk_ids, rule.numbers) == ([inbound_id], [])  # tied to the number's inbound trunk
    assert result.status == "configured"


def test_a_rule_without_an_inbound_trunk_is_tied_to_the_number_never_left_a_wildcard():
    livekit = FakeLiveKit()
    result = _apply(Plan(rule=RULE), NOTHING, livekit)
    rule = livekit.rules[result.ids.rule]
    assert (rule.trunk_ids, rule.numbers) == ([], [E164])
    assert result.plan.rule == rule and result.status == "configured"


def test_a_rule_that_names_its_numbers_keeps_them():
    livekit = FakeLiveKit()
    given = RULE.model_copy(update={"numbers": ["+14155550101"]})
    result = _apply(Plan(inbound=INBOUND, rule=given), NOTHING, livekit)
    rule = livekit.rules[result.ids.rule]
    assert (rule.trunk_ids, rule.numbers) == ([], ["+14155550101"])


def test_existing_parts_are_replaced_in_place_and_parts_not_planned_are_left_alone():
    livekit = FakeLiveKit()
    before = _existing(livekit)
    result = _apply(Plan(outbound=OUTBOUND), before, livekit, old={Part.OUTBOUND: "old-out"})
    assert livekit.methods() == ["replace_outbound_trunk"]
    assert result.ids == before.ids
    assert result.plan == before.plan.with_part(Part.OUTBOUND, _marked(OUTBOUND, Part.OUTBOUND))
    assert result == _held(livekit)
    assert livekit.trunks[before.ids.outbound][2] == "new-out"


def test_a_rule_left_on_a_removed_trunk_follows_the_new_one():
    # Given a rule still tied to an inbound trunk that was removed
    livekit = FakeLiveKit()
    rule_id = livekit.create_dispatch_rule(RULE.model_copy(update={"trunk_ids": ["ST_gone"]}))
    stale = Provisioned(Plan(rule=RULE.model_copy(update={"trunk_ids": ["ST_gone"]})), LiveKitIds(rule=rule_id))
    livekit.calls.clear()
    # When a new inbound trunk is applied
    result = _apply(Plan(inbound=INBOUND), stale, livekit)
    # Then the rule is replaced to answer through it
    assert livekit.methods() == ["create_inbound_trunk", "replace_dispatch_rule"]
    assert livekit.rules[rule_id].trunk_ids == [result.ids.inbound]
    assert result == _held(livekit)


@pytest.mark.parametrize(
    ("failing", "undone"),
    [
        ("create_inbound_trunk", []),
        ("create_outbound_trunk", [("delete_trunk", ("ST_1",))]),
        ("create_dispatch_rule", [("delete_trunk", ("ST_2",)), ("delete_trunk", ("ST_1",))]),  # newest first
    ],
)
def test_a_failed_create_undoes_the_earlier_steps(failing, undone):
    livekit = FakeLiveKit()
    livekit.fail(failing, UpstreamError("LiveKit failed: internal"))

    with pytest.raises(ProvisioningFailed) as failed:
        _apply(EVERYTHING, NOTHING, livekit)

    assert isinstance(failed.value.cause, UpstreamError)
    assert failed.value.survivors == NOTHING == _held(livekit) and failed.value.kept == frozenset()
    made = livekit.calls
    failed_at = livekit.methods().index(failing)
    assert made[failed_at + 1][0] == "find"  # nothing of this number's left by the failed create
    assert made[failed_at + 2 :] == undone


@pytest.mark.parametrize("failing", ["replace_inbound_trunk", "replace_outbound_trunk", "replace_dispatch_rule"])
def test_a_failed_replace_puts_back_what_was_there_with_its_old_password(failing):
    livekit = FakeLiveKit()
    before = _existing(livekit)
    held_before = dict(livekit.trunks), dict(livekit.rules)
    livekit.fail(failing, DOWN)

    with pytest.raises(ProvisioningFailed) as failed:
        _apply(EVERYTHING, before, livekit, old={Part.INBOUND: "old-in", Part.OUTBOUND: "old-out"})

    assert failed.value.survivors == before == _held(livekit) and failed.value.kept == frozenset()
    assert (livekit.trunks, livekit.rules) == held_before  # old specs, old passwords


def test_an_undo_that_fails_leaves_its_resource_among_the_survivors_with_the_new_spec():
    # Given a saga whose rule fails, and whose undo of the outbound trunk fails too
    livekit = FakeLiveKit()
    livekit.fail("create_dispatch_rule", DOWN)
    livekit.fail("delete_trunk", DOWN)
    # When it is applied
    with pytest.raises(ProvisioningFailed) as failed:
        _apply(EVERYTHING, NOTHING, livekit)
    # Then the outbound trunk survives, recorded as made, and the inbound one is gone
    survivors = failed.value.survivors
    assert survivors == _held(livekit)
    assert survivors.plan == Plan(outbound=_marked(OUTBOUND, Part.OUTBOUND))
    assert survivors.ids.inbound is None and survivors.ids.outbound in livekit.trunks
    assert survivors.status == "partial"
    assert failed.value.kept == {Part.OUTBOUND}  # as the saga made it, with its password
    assert livekit.trunks[survivors.ids.outbound][2] == "new-out"


def test_a_failed_undo_of_a_replace_records_the_new_spec():
    livekit = FakeLiveKit()
    before = _existing(livekit)
    livekit.fail("replace_dispatch_rule", DOWN)
    livekit.fail("replace_outbound_trunk", DOWN, skip=1)  # the undo, not the replace
    with pytest.raises(ProvisioningFailed) as failed:
        _apply(EVERYTHING, before, livekit, old={Part.INBOUND: "old-in", Part.OUTBOUND: "old-out"})
    survivors = failed.value.survivors
    assert survivors == _held(livekit)
    assert survivors.ids == before.ids
    assert survivors.plan == before.plan.with_part(Part.OUTBOUND, _marked(OUTBOUND, Part.OUTBOUND))
    assert livekit.trunks[before.ids.inbound][2] == "old-in"  # the inbound undo went through
    assert failed.value.kept == {Part.OUTBOUND} and livekit.trunks[before.ids.outbound][2] == "new-out"


def test_applied_undone_after_a_failed_save_removes_what_the_saga_made():
    livekit = FakeLiveKit()
    applied = provisioning.apply(EVERYTHING, NOTHING, PASSWORDS, {}, livekit, number=E164)
    failed = applied.undone(LockLost("lost"))
    assert isinstance(failed, ProvisioningFailed) and isinstance(failed.cause, LockLost)
    assert failed.message == "lost"
    assert failed.survivors == NOTHING == _held(livekit)
    assert livekit.methods()[3:] == ["delete_dispatch_rule", "delete_trunk", "delete_trunk"]


def test_applied_undone_restores_replaced_parts():
    livekit = FakeLiveKit()
    before = _existing(livekit)
    old = {Part.INBOUND: "old-in", Part.OUTBOUND: "old-out"}
    applied = provisioning.apply(EVERYTHING, before, PASSWORDS, old, livekit, number=E164)
    failed = applied.undone(UpstreamUnavailable("the database is busy"))
    assert failed.survivors == before == _held(livekit)
    assert livekit.trunks[before.ids.outbound][2] == "old-out"


# ---------------------------------------------------------------- a create whose answer was lost


def test_a_create_whose_answer_was_lost_takes_over_the_resource_it_made():
    # Given LiveKit made the inbound trunk but its answer never came back
    livekit = FakeLiveKit()
    livekit.fail("create_inbound_trunk", DOWN, after=True)
    # When the saga runs
    result = _apply(EVERYTHING, NOTHING, livekit)
    # Then the trunk is found by its marker and taken over (made as planned); nothing is made twice
    assert livekit.methods()[:3] == ["create_inbound_trunk", "find", "replace_inbound_trunk"]
    assert livekit.calls[1][1] == (Part.INBOUND, provisioning.marker(E164, Part.INBOUND), [E164], None)
    assert result == _held(livekit) and len(livekit.trunks) == 2


def test_strays_beyond_the_one_taken_over_are_deleted():
    livekit = FakeLiveKit()
    stray = livekit.create_dispatch_rule(_marked(RULE, Part.RULE).model_copy(update={"numbers": [E164], "name": "x"}))
    livekit.fail("create_dispatch_rule", DOWN, after=True)
    result = _apply(Plan(rule=RULE), NOTHING, livekit)
    assert list(livekit.rules) == [stray] == [result.ids.rule]
    assert result == _held(livekit) and livekit.rules[stray].name == "main"  # made as planned


def test_a_create_that_made_nothing_fails_the_saga():
    livekit = FakeLiveKit()
    livekit.fail("create_outbound_trunk", DOWN)
    with pytest.raises(ProvisioningFailed) as failed:
        _apply(Plan(outbound=OUTBOUND), NOTHING, livekit)
    assert failed.value.cause is DOWN and livekit.methods() == ["create_outbound_trunk", "find"]


def test_a_failed_create_that_cannot_be_checked_fails_with_its_own_cause():
    livekit = FakeLiveKit()
    livekit.fail("create_outbound_trunk", DOWN)
    livekit.fail("find", UpstreamError("LiveKit failed: list"))
    with pytest.raises(ProvisioningFailed) as failed:
        _apply(Plan(outbound=OUTBOUND), NOTHING, livekit)
    assert failed.value.cause is DOWN


def test_a_replace_whose_answer_was_lost_is_undone_too():
    # Given LiveKit replaced the inbound trunk but its answer never came back
    livekit = FakeLiveKit()
    before = _existing(livekit)
    livekit.fail("replace_inbound_trunk", DOWN, after=True)
    # When the saga fails on it
    with pytest.raises(ProvisioningFailed) as failed:
        _apply(Plan(inbound=INBOUND), before, livekit, old={Part.INBOUND: "old-in"})
    # Then the old spec and password are put back, and the survivors are what LiveKit holds
    assert failed.value.cause is DOWN
    assert failed.value.survivors == before == _held(livekit)
    assert livekit.trunks[before.ids.inbound][2] == "old-in"


def test_a_replace_refused_outright_is_put_back_harmlessly():
    livekit = FakeLiveKit()
    before = _existing(livekit)
    livekit.fail("replace_outbound_trunk", DOWN)  # refused before LiveKit changed anything
    with pytest.raises(ProvisioningFailed) as failed:
        _apply(Plan(outbound=OUTBOUND), before, livekit, old={Part.OUTBOUND: "old-out"})
    assert livekit.methods() == ["replace_outbound_trunk", "replace_outbound_trunk"]
    assert failed.value.survivors == before == _held(livekit)
    assert livekit.trunks[before.ids.outbound][2] == "old-out"


# ---------------------------------------------------------------- remove


def test_remove_deletes_the_rule_then_the_outbound_trunk_then_the_inbound_one():
    livekit = FakeLiveKit()
    before = _existing(livekit)
    result = provisioning.remove(tuple(Part), before, livekit)
    assert livekit.calls == [
        ("delete_dispatch_rule", (before.ids.rule,)),
        ("delete_trunk", (before.ids.outbound,)),
        ("delete_trunk", (before.ids.inbound,)),
    ]
    assert result == NOTHING == _held(livekit) and result.status == "unconfigured"


def test_remove_leaves_the_parts_not_named():
    livekit = FakeLiveKit()
    before = _existing(livekit)
    result = provisioning.remove((Part.INBOUND, Part.OUTBOUND), before, livekit)
    assert result == _held(livekit) and result.plan == Plan(rule=before.plan.rule)
    assert result.status == "partial"  # the rule is tied to the trunk that went


def test_a_failed_remove_reports_what_still_exists():
    livekit = FakeLiveKit()
    before = _existing(livekit)
    livekit.fail("delete_trunk", DOWN)
    with pytest.raises(ProvisioningFailed) as failed:
        provisioning.remove(tuple(Part), before, livekit)
    survivors = failed.value.survivors
    assert survivors == _held(livekit) and survivors.ids.rule is None
    assert survivors.ids.outbound == before.ids.outbound and survivors.ids.inbound == before.ids.inbound
    assert failed.value.cause is DOWN


def test_remove_forgets_a_planned_part_that_never_existed_without_asking_livekit():
    livekit = FakeLiveKit()
    result = provisioning.remove((Part.RULE,), Provisioned(Plan(rule=RULE), LiveKitIds()), livekit)
    assert result == NOTHING and livekit.calls == []


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("plan", "ids", "status"),
    [
        (Plan(), LiveKitIds(), "unconfigured"),
        (Plan(inbound=INBOUND), LiveKitIds(inbound="ST_1"), "partial"),
        (Plan(outbound=OUTBOUND), LiveKitIds(outbound="ST_2"), "partial"),
        (Plan(inbound=INBOUND, rule=RULE), LiveKitIds(inbound="ST_1", rule="SDR_1"), "configured"),
        (Plan(rule=RULE.model_copy(update={"numbers": [E164]})), LiveKitIds(rule="SDR_1"), "configured"),
        (Plan(rule=RULE.model_copy(update={"trunk_ids": ["ST_gone"]})), LiveKitIds(rule="SDR_1"), "partial"),
        (Plan(outbound=OUTBOUND, rule=RULE), LiveKitIds(outbound="ST_2", rule="SDR_1"), "partial"),
        (Plan(inbound=INBOUND), LiveKitIds(), "unconfigured"),  # planned, never made
    ],
)
def test_provisioned_status(plan, ids, status):
    assert Provisioned(plan, ids).status == status


def test_a_missing_resource_is_not_found_on_replace():
    """The fake holds LiveKit's answer to a replace of what it does not hold (the saga's undo relies on it)."""
    livekit = FakeLiveKit()
    with pytest.raises(NotFound):
        livekit.replace_inbound_trunk("ST_nope", INBOUND)
