"""Configure a number the caller owns (seed 004): SIP trunks and a dispatch rule in LiveKit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telephony import sip
from telephony.errors import Conflict, DomainError, InvalidInput, NotFound
from telephony.integrations import livekit as lk
from telephony.integrations import secrets
from telephony.models.principal import Principal
from telephony.models.sip import (
    ConfigureRequest,
    DispatchRuleView,
    NumberConfiguration,
    RemovedConfiguration,
    SipTrunkView,
)
from telephony.observability import count
from telephony.repositories import numbers as numbers_repo
from telephony.services import provisioning
from telephony.util import now_iso

CONFIG_TYPES = {
    "sip_trunk": ("inbound", "outbound"),
    "dispatch_rule": ("rule",),
    "all": ("inbound", "outbound", "rule"),
}


def owned(phone_number_id: str, principal: Principal) -> dict[str, Any]:
    record = numbers_repo.get(phone_number_id)
    if record is None or record["owner_id"] != principal.user_id:
        raise NotFound("no such phone number")
    return record


_LOCK_ATTEMPTS = 3


def locked[T](
    phone_number_id: str,
    principal: Principal,
    *,
    token: str,
    prepare: Callable[[dict[str, Any]], T],
    budget: bool = True,
) -> tuple[dict[str, Any], T]:
    """The number as it is, read and then locked with `token` at that very revision, and what `prepare` made of
    it (its checks run before the lock, so a refused request spends no configuration). Another request's save
    between the read and the lock means reading, preparing and locking again."""
    for _ in range(_LOCK_ATTEMPTS):
        record = owned(phone_number_id, principal)
        prepared = prepare(record)
        try:
            provisioning.lock(record, owner_id=principal.user_id, token=token, budget=budget)
        except provisioning.Changed:
            continue
        return record, prepared
    raise Conflict("this number is being changed by other requests; retry shortly")


def require_owned_numbers(numbers: list[str], principal: Principal, *, field: str, own: str | None = None) -> None:
    """A trunk may only answer numbers its owner holds: LiveKit is shared by every tenant."""
    others = [n for n in numbers if n != own]
    claims = numbers_repo.claims(others)
    foreign = [
        n
        for n in others  # held as a number of theirs: a request for it is not enough (it may be rejected)
        if claims.get(n, {}).get("owner_id") != principal.user_id or claims[n].get("holder") != "number"
    ]
    if foreign:
        raise InvalidInput(
            f"{field} may only list numbers you own; not yours: {', '.join(foreign)}",
            details=[{"field": field, "issue": "not_owned"}],
        )


def view(record: dict[str, Any]) -> NumberConfiguration:
    stored = provisioning.Stored.of(record)
    inbound, outbound, rule = (stored.plan.get(p) for p in provisioning.PARTS)
    trunk = None
    if stored.ids.get("inbound") or stored.ids.get("outbound"):
        base = outbound or inbound or {}
        trunk = SipTrunkView(
            name=base.get("name", ""),
            address=(outbound or {}).get("address"),
            numbers=(inbound or outbound or {}).get("numbers", []),
            auth_username=base.get("auth_username") or None,
            auth_configured=bool(base.get("has_password")),
            destination_country=(outbound or {}).get("destination_country") or None,
            transport=(outbound or {}).get("transport", "AUTO"),
            inbound_trunk_id=stored.ids.get("inbound"),
            outbound_trunk_id=stored.ids.get("outbound"),
        )
    dispatch = None
    if stored.ids.get("rule") and rule:
        dispatch = DispatchRuleView(
            rule_name=rule["name"],
            room_prefix=rule["room_prefix"],
            agent_name=rule["agent_name"],
            dispatch_rule_id=stored.ids["rule"],
        )
    return NumberConfiguration(
        phone_number_id=record["phone_number_id"],
        phone_number=record["phone_number"],
        configuration_status=provisioning.status_of(stored),
        sip_trunk=trunk,
        dispatch_rule=dispatch,
    )


def get(phone_number_id: str, *, principal: Principal) -> NumberConfiguration:
    return view(owned(phone_number_id, principal))


def not_registered(record: dict[str, Any]) -> None:
    """A number registered to an agent has the trunks and rule of its registration (its settings, its agent):
    configuring them apart would drop those settings in LiveKit and leave the registration describing nothing."""
    if record.get("agent_id"):
        raise Conflict(
            f"this number is registered to agent {record['agent_id']}: its configuration follows the registration; "
            f"remove it first (DELETE /agents/{record['agent_id']}/phone-numbers/{record['phone_number_id']})",
            details=[{"field": "phone_number_id", "issue": "registered"}],
        )


def _plan(
    body: ConfigureRequest, record: dict[str, Any], principal: Principal
) -> tuple[provisioning.Plan, dict[str, str]]:
    not_registered(record)
    plan, passwords = provisioning.Plan(), {}
    settings_ = record.get("call_settings") or {}
    if body.sip_trunk:
        trunk = body.sip_trunk
        numbers = sip.numbers(trunk.numbers, field="sip_trunk.numbers")
        require_owned_numbers(numbers, principal, field="sip_trunk.numbers", own=record["phone_number"])
        address = sip.outbound_address(trunk.address, field="sip_trunk.address")
        if bool(trunk.auth_username) != bool(trunk.auth_password):
            raise InvalidInput("give auth_username and auth_password together", details=[{"field": "sip_trunk"}])
        password = trunk.auth_password or ""
        plan.inbound = lk.InboundTrunk(
            name=trunk.name,
            numbers=numbers,
            auth_username=trunk.auth_username or "",
            auth_password=password,
            krisp_enabled=bool(settings_.get("krisp_enabled", True)),
        )
        plan.outbound = lk.OutboundTrunk(
            name=trunk.name,
            address=address,
            numbers=numbers,
            transport=trunk.transport,
            destination_country=(trunk.destination_country or "").upper(),
            auth_username=trunk.auth_username or "",
            auth_password=password,
        )
        if password:
            passwords = {"inbound": password, "outbound": password}
    if body.dispatch_rule:
        rule = body.dispatch_rule
        plan.rule = lk.DispatchRule(name=rule.rule_name, room_prefix=rule.room_prefix, agent_name=rule.agent_name)
    return plan, passwords


def configure(
    phone_number_id: str, body: ConfigureRequest, *, principal: Principal, livekit: lk.LiveKit | None = None
) -> NumberConfiguration:
    token = provisioning.lock_token()
    record, (plan, passwords) = locked(
        phone_number_id, principal, token=token, prepare=lambda number: _plan(body, number, principal)
    )
    new_arn = None
    saved: dict[str, Any] = {}

    def commit(result: provisioning.Stored) -> None:
        fields = {**provisioning.record_of(result), "updated_at": now_iso()}
        remove: tuple[str, ...] = ()
        if body.sip_trunk is not None:
            if new_arn:
                fields["auth_secret_arn"] = new_arn
            else:
                remove = ("auth_secret_arn",)
        saved.update(numbers_repo.save(phone_number_id, token=token, fields=fields, remove=remove))

    try:
        client = livekit or lk.default()
        old_passwords = provisioning.read_passwords(record)
        new_passwords = passwords if body.sip_trunk is not None else old_passwords
        if body.sip_trunk is not None and passwords:
            new_arn = secrets.write_json(provisioning.secret_name(phone_number_id, token), passwords)
        provisioning.apply(
            plan,
            provisioning.Stored.of(record),
            new_passwords,
            old_passwords,
            client,
            number=record["phone_number"],
            commit=commit,
        )
    except DomainError as failure:
        count("ProvisioningFailures")
        record_survivors(phone_number_id, token, record, failure)
        if new_arn:
            provisioning.forget_secret(new_arn)
        raise
    old_arn = record.get("auth_secret_arn")
    if old_arn and body.sip_trunk is not None:
        provisioning.forget_secret(old_arn)
    return view(saved)


def record_survivors(phone_number_id: str, token: str, record: dict[str, Any], failure: DomainError) -> None:
    """After a failed saga the table must say exactly what LiveKit still holds."""
    survivors = getattr(failure, "survivors", None)
    stored = provisioning.Stored.of(record)
    if survivors is None or survivors == stored.ids:
        provisioning.unlock(phone_number_id, token)
        return
    plan = getattr(failure, "survivor_plan", stored.plan)
    kept = provisioning.Stored({k: v for k, v in plan.items() if k in survivors}, survivors)
    numbers_repo.save(phone_number_id, token=token, fields={**provisioning.record_of(kept), "updated_at": now_iso()})


def delete(
    phone_number_id: str, config_type: str, *, principal: Principal, livekit: lk.LiveKit | None = None
) -> RemovedConfiguration:
    parts = CONFIG_TYPES.get(config_type)
    if parts is None:
        raise InvalidInput("config_type must be sip_trunk, dispatch_rule or all", details=[{"field": "config_type"}])
    token = provisioning.lock_token()
    record, _ = locked(phone_number_id, principal, token=token, budget=False, prepare=not_registered)
    stored = provisioning.Stored.of(record)
    try:
        result = provisioning.remove(parts, stored, livekit or lk.default())
    except DomainError as failure:
        record_survivors(phone_number_id, token, record, failure)
        raise
    fields: dict[str, Any] = {**provisioning.record_of(result), "updated_at": now_iso()}
    remove: tuple[str, ...] = ()
    old_arn = record.get("auth_secret_arn") if "inbound" in parts else None
    if old_arn:
        remove = ("auth_secret_arn",)
    try:
        saved = numbers_repo.save(phone_number_id, token=token, fields=fields, remove=remove)
    except DomainError:
        provisioning.unlock(phone_number_id, token)  # LiveKit is done: a retry finds it so and records it
        raise
    if old_arn:
        provisioning.forget_secret(old_arn)
    removed = [
        p for p in ("sip_trunk", "dispatch_rule") if set(CONFIG_TYPES[p]) & {x for x in parts if stored.ids.get(x)}
    ]
    return RemovedConfiguration(
        phone_number_id=phone_number_id, removed=removed, configuration_status=saved["configuration_status"]
    )
