"""Configure a number the caller owns (the Phone Number Management API): SIP trunks and a dispatch rule in LiveKit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from telephony import sip
from telephony.errors import Conflict, DomainError, InvalidInput, NotFound, NumberChanged
from telephony.models.numbers import NumberRecord
from telephony.models.principal import Principal
from telephony.models.sip import (
    ConfigureRequest,
    DispatchRule,
    DispatchRuleView,
    InboundTrunk,
    NumberConfiguration,
    OutboundTrunk,
    Part,
    Plan,
    RemovedConfiguration,
    SipTrunkView,
)
from telephony.observability import count
from telephony.repositories.store import Store, default_store
from telephony.services import provisioning, rate_limits
from telephony.services.provisioning import Passwords, Provisioned, ProvisioningFailed
from telephony.util import epoch, now_iso

if TYPE_CHECKING:
    from telephony.integrations.livekit import LiveKit

CONFIG_TYPES: dict[str, tuple[Part, ...]] = {
    "sip_trunk": (Part.INBOUND, Part.OUTBOUND),
    "dispatch_rule": (Part.RULE,),
    "all": (Part.INBOUND, Part.OUTBOUND, Part.RULE),
}


def livekit_client(given: LiveKit | None) -> LiveKit:
    from telephony.integrations import livekit as lk

    return given or lk.default()


def owned(phone_number_id: str, principal: Principal, db: Store) -> NumberRecord:
    number = db.numbers.get(phone_number_id)
    if number is None or number.owner_id != principal.user_id:
        raise NotFound("no such phone number")
    return number


_LOCK_ATTEMPTS = 3


def locked[T](
    phone_number_id: str,
    principal: Principal,
    *,
    token: str,
    prepare: Callable[[NumberRecord], T],
    db: Store,
    budget: bool = True,
) -> tuple[NumberRecord, T]:
    """The number as it is, read and then locked with `token` at that very revision, and what `prepare` made of
    it (its checks run before the lock, so a refused request spends no configuration). Another request's save
    between the read and the lock means reading, preparing and locking again."""
    for _ in range(_LOCK_ATTEMPTS):
        number = owned(phone_number_id, principal, db)
        prepared = prepare(number)
        charge = rate_limits.charge(rate_limits.CONFIGURATIONS, principal.user_id, store=db) if budget else None
        try:
            db.numbers.lock(number, token=token, now=epoch(), charge=charge)
        except NumberChanged:
            continue
        return number, prepared
    raise Conflict("this number is being changed by other requests; retry shortly")


def require_owned_numbers(
    numbers: list[str], principal: Principal, db: Store, *, field: str, own: str | None = None
) -> None:
    """A trunk may only answer numbers its owner holds: LiveKit is shared by every tenant."""
    others = [n for n in numbers if n != own]
    claims = db.numbers.claims(others)
    # held as a number of theirs: a request for it is not enough (it may be rejected)
    foreign = [n for n in others if n not in claims or not claims[n].held_as_number_of(principal.user_id)]
    if foreign:
        raise InvalidInput(
            f"{field} may only list numbers you own; not yours: {', '.join(foreign)}",
            details=[{"field": field, "issue": "not_owned"}],
        )


def view(number: NumberRecord) -> NumberConfiguration:
    ids, plan = number.livekit, number.plan
    trunk = None
    if ids.inbound or ids.outbound:
        inbound, outbound = plan.inbound, plan.outbound
        base = outbound or inbound
        listed = inbound or outbound
        trunk = SipTrunkView(
            name=base.name if base else "",
            address=outbound.address if outbound else None,
            numbers=listed.numbers if listed else [],
            auth_username=(base.auth_username or None) if base else None,
            auth_configured=bool(base and base.has_password),
            destination_country=(outbound.destination_country or None) if outbound else None,
            transport=outbound.transport if outbound else "AUTO",
            inbound_trunk_id=ids.inbound,
            outbound_trunk_id=ids.outbound,
        )
    dispatch = None
    if ids.rule and plan.rule:
        dispatch = DispatchRuleView(
            rule_name=plan.rule.name,
            room_prefix=plan.rule.room_prefix,
            agent_name=plan.rule.agent_name,
            dispatch_rule_id=ids.rule,
        )
    return NumberConfiguration(
        phone_number_id=number.phone_number_id,
        phone_number=number.phone_number,
        configuration_status=Provisioned.of(number).status,
        sip_trunk=trunk,
        dispatch_rule=dispatch,
    )


def get(phone_number_id: str, *, principal: Principal, store: Store | None = None) -> NumberConfiguration:
    return view(owned(phone_number_id, principal, store or default_store()))


def not_registered(number: NumberRecord) -> None:
    """A number registered to an agent has the trunks and rule of its registration (its settings, its agent):
    configuring them apart would drop those settings in LiveKit and leave the registration describing nothing."""
    if number.agent_id:
        raise Conflict(
            f"this number is registered to agent {number.agent_id}: its configuration follows the registration; "
            f"remove it first (DELETE /agents/{number.agent_id}/phone-numbers/{number.phone_number_id})",
            details=[{"field": "phone_number_id", "issue": "registered"}],
        )


def _plan(body: ConfigureRequest, number: NumberRecord, principal: Principal, db: Store) -> tuple[Plan, Passwords]:
    not_registered(number)
    plan, passwords = Plan(), Passwords()
    if body.sip_trunk:
        trunk = body.sip_trunk
        numbers = sip.numbers(trunk.numbers, field="sip_trunk.numbers")
        require_owned_numbers(numbers, principal, db, field="sip_trunk.numbers", own=number.phone_number)
        address = sip.outbound_address(trunk.address, field="sip_trunk.address")
        if bool(trunk.auth_username) != bool(trunk.auth_password):
            raise InvalidInput("give auth_username and auth_password together", details=[{"field": "sip_trunk"}])
        password = trunk.auth_password or ""
        plan = plan.model_copy(
            update={
                "inbound": InboundTrunk(
                    name=trunk.name,
                    numbers=numbers,
                    auth_username=trunk.auth_username or "",
                    has_password=bool(password),
                    krisp_enabled=number.settings.krisp_enabled,
                ),
                "outbound": OutboundTrunk(
                    name=trunk.name,
                    address=address,
                    numbers=numbers,
                    transport=trunk.transport,
                    destination_country=(trunk.destination_country or "").upper(),
                    auth_username=trunk.auth_username or "",
                    has_password=bool(password),
                ),
            }
        )
        if password:
            passwords = {Part.INBOUND: password, Part.OUTBOUND: password}
    if body.dispatch_rule:
        rule = body.dispatch_rule
        db.numbers.claim_agent_name(rule.agent_name, principal.user_id)
        plan = plan.with_part(
            Part.RULE, DispatchRule(name=rule.rule_name, room_prefix=rule.room_prefix, agent_name=rule.agent_name)
        )
    return plan, passwords


def configure(
    phone_number_id: str,
    body: ConfigureRequest,
    *,
    principal: Principal,
    livekit: LiveKit | None = None,
    store: Store | None = None,
) -> NumberConfiguration:
    db = store or default_store()
    token = provisioning.lock_token()
    number, (plan, passwords) = locked(
        phone_number_id, principal, token=token, db=db, prepare=lambda n: _plan(body, n, principal, db)
    )
    new_arn = None
    old_passwords: Passwords = {}
    try:
        old_passwords = provisioning.read_passwords(number)
        new_passwords = passwords if body.sip_trunk is not None else old_passwords
        if body.sip_trunk is not None and passwords:
            new_arn = provisioning.write_passwords(provisioning.secret_name(phone_number_id, token), passwords)
        applied = provisioning.apply(
            plan,
            Provisioned.of(number),
            new_passwords,
            old_passwords,
            livekit_client(livekit),
            number=number.phone_number,
        )
        arn = (new_arn if body.sip_trunk is not None else number.auth_secret_arn) or None
        try:
            saved = db.numbers.save(applied.result.on(number, auth_secret_arn=arn, updated_at=now_iso()), token=token)
        except DomainError as failure:
            raise applied.undone(failure) from failure
    except DomainError as failure:
        count("ProvisioningFailures")
        kept_arn = surviving_secret(failure, passwords, new_arn)
        keep_survivors(db, token, number, failure, secret_arn=kept_arn)
        if new_arn and not kept_arn:
            provisioning.forget_secret(new_arn)
        if kept_arn and number.auth_secret_arn and not _old_passwords_in_use(failure, old_passwords):
            provisioning.forget_secret(number.auth_secret_arn)
        if isinstance(failure, ProvisioningFailed):
            raise failure.cause from failure
        raise
    if number.auth_secret_arn and body.sip_trunk is not None:
        provisioning.forget_secret(number.auth_secret_arn)
    return view(saved)


def surviving_secret(failure: DomainError, passwords: Passwords, new_arn: str | None) -> str | None:
    """`new_arn` when a part that survives the failed saga was made with its `passwords` (LiveKit holds them, so
    the number must say where they are kept); None when no surviving part uses them."""
    if new_arn and isinstance(failure, ProvisioningFailed) and any(p in passwords for p in failure.kept):
        return new_arn
    return None


def _old_passwords_in_use(failure: DomainError, old_passwords: Passwords) -> bool:
    """Whether a part that survives the failed saga still holds its old password (untouched, or put back)."""
    if not isinstance(failure, ProvisioningFailed):
        return bool(old_passwords)
    return any(failure.survivors.ids.get(p) and p not in failure.kept for p in old_passwords)


def keep_survivors(
    db: Store, token: str, number: NumberRecord, failure: DomainError, *, secret_arn: str | None = None
) -> None:
    """After a failed saga the table must say exactly what LiveKit still holds (the lock given back either way),
    and where the passwords of what it holds are kept: `secret_arn` when a surviving part was made with new ones."""
    survivors = failure.survivors if isinstance(failure, ProvisioningFailed) else Provisioned.of(number)
    arn = secret_arn or number.auth_secret_arn
    if survivors == Provisioned.of(number) and arn == number.auth_secret_arn:
        provisioning.release(db, number.phone_number_id, token)
        return
    db.numbers.save(survivors.on(number, auth_secret_arn=arn, updated_at=now_iso()), token=token)


def delete(
    phone_number_id: str,
    config_type: str,
    *,
    principal: Principal,
    livekit: LiveKit | None = None,
    store: Store | None = None,
) -> RemovedConfiguration:
    db = store or default_store()
    parts = CONFIG_TYPES.get(config_type)
    if parts is None:
        raise InvalidInput("config_type must be sip_trunk, dispatch_rule or all", details=[{"field": "config_type"}])
    token = provisioning.lock_token()
    number, _ = locked(phone_number_id, principal, token=token, db=db, budget=False, prepare=not_registered)
    before = Provisioned.of(number)
    try:
        result = provisioning.remove(parts, before, livekit_client(livekit))
    except ProvisioningFailed as failure:
        keep_survivors(db, token, number, failure)
        raise failure.cause from failure
    old_arn = number.auth_secret_arn if Part.INBOUND in parts else None
    try:
        saved = db.numbers.save(
            result.on(number, auth_secret_arn=None if old_arn else number.auth_secret_arn, updated_at=now_iso()),
            token=token,
        )
    except DomainError:
        provisioning.release(db, phone_number_id, token)  # LiveKit is done: a retry finds it so and records it
        raise
    if old_arn:
        provisioning.forget_secret(old_arn)
    removed = [
        p for p in ("sip_trunk", "dispatch_rule") if any(before.ids.get(x) for x in CONFIG_TYPES[p] if x in parts)
    ]
    return RemovedConfiguration(
        phone_number_id=phone_number_id, removed=removed, configuration_status=saved.configuration_status
    )
