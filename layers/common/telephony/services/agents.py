"""Register a phone number for an agent (seed 000): the number, its trunks and its dispatch rule."""

from __future__ import annotations

import uuid
from typing import Any

from telephony import sip
from telephony.config import settings
from telephony.errors import Conflict, DomainError, InvalidInput, NotFound
from telephony.integrations import livekit as lk
from telephony.integrations import secrets
from telephony.models.common import Page
from telephony.models.principal import Principal
from telephony.models.sip import RegisteredPhoneNumber, RegisterPhoneNumber, Unregistered
from telephony.observability import count
from telephony.phone import to_e164
from telephony.repositories import dynamo, keys
from telephony.repositories import numbers as numbers_repo
from telephony.services import number_config, providers, provisioning, rate_limits
from telephony.util import epoch, new_id, now_iso

_SECRET_FIELDS = {"auth_password"}


def _agent(agent_id: str) -> str:
    try:
        return str(uuid.UUID(agent_id))
    except ValueError as exc:
        raise InvalidInput("agent_id must be a UUID", details=[{"field": "agent_id"}]) from exc


def _room_prefix(agent_id: str) -> str:
    return f"agent-{agent_id[:8]}"


def _call_settings(body: RegisterPhoneNumber) -> dict[str, Any]:
    return {
        "ringing_timeout_seconds": body.ringing_timeout_seconds,
        "max_call_duration_seconds": body.max_call_duration_seconds,
        "krisp_enabled": body.krisp_enabled,
        "hide_phone_number": body.hide_phone_number,
        "custom_headers": body.custom_headers,
        "media_encryption": body.media_encryption,
        "dtmf_config": body.dtmf_config.model_dump() if body.dtmf_config else None,
        "transfer_config": body.transfer_config.model_dump() if body.transfer_config else None,
        "agent_features": body.agent_features.model_dump() if body.agent_features else None,
    }


def _plan(
    agent_id: str, e164: str, body: RegisterPhoneNumber, principal: Principal, provider: providers.Provider
) -> tuple[provisioning.Plan, dict[str, str], str | None]:
    headers = sip.custom_headers(body.custom_headers)
    mapping = sip.headers_to_attributes(body.headers_to_attributes)
    trunk_numbers = sip.numbers(body.trunk_numbers, field="trunk_numbers") or [e164]
    outbound_numbers = sip.numbers(body.outbound_numbers, field="outbound_numbers") or [e164]
    allowed_numbers = sip.numbers(body.allowed_numbers, field="allowed_numbers")
    addresses = sip.allowed_addresses(body.allowed_addresses)
    for field, numbers in (("trunk_numbers", trunk_numbers), ("outbound_numbers", outbound_numbers)):
        number_config.require_owned_numbers(numbers, principal, field=field, own=e164)
    if bool(body.auth_username) != bool(body.auth_password):
        raise InvalidInput("give auth_username and auth_password together", details=[{"field": "auth_username"}])
    agent_name = str(body.metadata.get("agent_name") or agent_id)
    plan = provisioning.Plan()
    passwords: dict[str, str] = {}
    address = None
    name = f"{provider.name} {e164}"
    if provider.requires_trunk:
        plan.inbound = lk.InboundTrunk(
            name=name,
            numbers=trunk_numbers,
            allowed_addresses=addresses,
            allowed_numbers=allowed_numbers,
            auth_username=body.auth_username or "",
            auth_password=body.auth_password or "",
            headers=headers,
            headers_to_attributes=mapping,
            krisp_enabled=body.krisp_enabled,
            ringing_timeout_seconds=body.ringing_timeout_seconds,
            max_call_duration_seconds=body.max_call_duration_seconds,
            media_encryption=body.media_encryption,
        )
        if body.auth_password:
            passwords["inbound"] = body.auth_password
    if body.enable_outbound:
        if not provider.requires_trunk:
            raise InvalidInput(
                "outbound calling from a LiveKit number is set up in LiveKit Cloud; register the carrier's number",
                details=[{"field": "enable_outbound"}],
            )
        raw = body.outbound_address or (
            provider.default_outbound_address if "{" not in (provider.default_outbound_address or "{") else None
        )
        if not raw:
            raise InvalidInput(
                f"outbound_address is required for outbound calling with {provider.name}",
                details=[{"field": "outbound_address"}],
            )
        address = sip.outbound_address(raw)
        if provider.outbound_requires_credentials and not body.auth_password:
            raise InvalidInput(
                f"{provider.name} requires auth_username and auth_password for outbound calling",
                details=[{"field": "auth_password"}],
            )
        plan.outbound = lk.OutboundTrunk(
            name=name,
            address=address,
            numbers=outbound_numbers,
            transport=body.outbound_transport,
            destination_country=(body.destination_country or "").upper(),
            auth_username=body.auth_username or "",
            auth_password=body.auth_password or "",
            headers=headers,
            media_encryption=body.media_encryption,
        )
        if body.auth_password:
            passwords["outbound"] = body.auth_password
    plan.rule = lk.DispatchRule(
        name=f"agent {agent_id}",
        room_prefix=_room_prefix(agent_id),
        agent_name=agent_name,
        numbers=[] if provider.requires_trunk else [e164],
        # without a trunk of ours, the callers a LiveKit number accepts are the rule's to filter
        inbound_numbers=[] if provider.requires_trunk else allowed_numbers,
        hide_phone_number=body.hide_phone_number,
        krisp_enabled=body.krisp_enabled,
    )
    return plan, passwords, address


def _sip_domain() -> str:
    return settings().livekit_sip_domain or "sip.livekit.invalid"


def view(record: dict[str, Any], *, with_providers: bool = True) -> RegisteredPhoneNumber:
    registration = record.get("registration") or {}
    stored = provisioning.Stored.of(record)
    provider = providers.get(record.get("provider") or "custom")
    domain = _sip_domain()
    e164 = record["phone_number"]
    sip_uri = f"sip:{e164}@{domain}"
    rule = stored.plan.get("rule") or {}
    outbound = stored.plan.get("outbound") or {}
    room_pattern = f"{rule.get('room_prefix', '')}_<caller>_<random>"
    inbound_addresses = [a.strip() for a in settings().livekit_inbound_addresses.split(",") if a.strip()] or [domain]
    values = {
        "sip_uri": sip_uri,
        "sip_uri_host": f"sip:{domain}",
        "phone_number": e164,
        "outbound_address": outbound.get("address") or "(not enabled)",
        "dispatch_rule_id": stored.ids.get("rule"),
        "room_pattern": room_pattern,
        "agent_name": rule.get("agent_name"),
    }
    return RegisteredPhoneNumber(
        agent_id=record["agent_id"],
        phone_number=e164,
        provider=provider.name,
        sip_uri=sip_uri,
        dispatch_rule_id=stored.ids.get("rule", ""),
        outbound_enabled=bool(stored.ids.get("outbound")),
        status=record.get("status", "active"),
        created_at=record.get("registered_at") or record["created_at"],
        instructions=providers.instructions(provider, values),
        outbound_trunk_id=stored.ids.get("outbound"),
        outbound_address=outbound.get("address"),
        provider_config=registration.get("provider_config") or {},
        room_pattern=room_pattern,
        livekit_sip_domain=domain,
        inbound_addresses=inbound_addresses,
        supported_providers=providers.supported() if with_providers else None,
        phone_number_id=record["phone_number_id"],
        inbound_trunk_id=stored.ids.get("inbound"),
    )


def _claim_or_create(e164: str, principal: Principal, token: str) -> tuple[dict[str, Any], bool]:
    """The caller's unconfigured number to attach to, or a new number item; both locked by `token`."""
    claim = numbers_repo.claims([e164]).get(e164)
    if claim is not None:
        if claim.get("owner_id") != principal.user_id or claim.get("holder") != "number":
            raise Conflict(f"{e164} is already registered or requested", details=[{"field": "phone_number"}])

        def unconfigured(record: dict[str, Any]) -> None:
            if record.get("agent_id") or (record.get("livekit") or {}):
                raise Conflict(
                    f"{e164} is already registered or configured; remove that first",
                    details=[{"field": "phone_number"}],
                )

        record, _ = number_config.locked(claim["phone_number_id"], principal, token=token, prepare=unconfigured)
        return record, False
    moment = now_iso()
    record = {
        "phone_number_id": new_id("pn"),
        "phone_number": e164,
        "owner_id": principal.user_id,
        "status": "active",
        "configuration_status": "unconfigured",
        "created_at": moment,
        "updated_at": moment,
        "config_lock": {"token": token, "until": epoch() + 120},
    }
    try:
        dynamo.transact(
            [
                numbers_repo.claim_new_number(
                    e164, phone_number_id=record["phone_number_id"], owner_id=principal.user_id
                ),
                numbers_repo.put_new(record),
                rate_limits.hit(rate_limits.CONFIGURATIONS, principal.user_id),
            ]
        )
    except dynamo.TransactionCanceled as canceled:
        if canceled.failed(2):
            raise rate_limits.limited(rate_limits.CONFIGURATIONS) from canceled
        raise Conflict(f"{e164} is already registered or requested", details=[{"field": "phone_number"}]) from canceled
    return record, True


def register(
    agent_id: str, body: RegisterPhoneNumber, *, principal: Principal, livekit: lk.LiveKit | None = None
) -> RegisteredPhoneNumber:
    agent = _agent(agent_id)
    e164 = to_e164(body.phone_number)
    provider = providers.get(body.provider)
    plan, passwords, _ = _plan(agent, e164, body, principal, provider)
    token = provisioning.lock_token()
    record, created = _claim_or_create(e164, principal, token)
    pid = record["phone_number_id"]
    arn = None
    saved: dict[str, Any] = {}

    def commit(result: provisioning.Stored) -> None:
        moment = now_iso()
        fields: dict[str, Any] = {
            **provisioning.record_of(result),
            "agent_id": agent,
            **keys.number_agent(principal.user_id, agent, moment, pid),  # listed by registration, newest first
            "provider": provider.name,
            "registration": body.model_dump(exclude=_SECRET_FIELDS),
            "call_settings": _call_settings(body),
            "registered_at": moment,
            "updated_at": moment,
        }
        if arn:
            fields["auth_secret_arn"] = arn
        if record.get("request_id") and "assigned_provider" not in record:  # given back when it is unregistered
            fields["assigned_provider"] = record.get("provider")
        saved.update(numbers_repo.save(pid, token=token, fields=fields))

    try:
        client = livekit or lk.default()
        if passwords:
            arn = secrets.write_json(provisioning.secret_name(pid, token), passwords)
        provisioning.apply(plan, provisioning.Stored(), passwords, {}, client, number=e164, commit=commit)
    except DomainError as failure:
        count("ProvisioningFailures")
        if getattr(failure, "survivors", None):  # an undo failed: the number stays, recording what LiveKit holds
            number_config.record_survivors(pid, token, record, failure)
        elif created:
            numbers_repo.delete(pid, e164, token=token)
        else:
            provisioning.unlock(pid, token)
        if arn:
            provisioning.forget_secret(arn)
        raise
    return view(saved)


def list_for_agent(
    agent_id: str, *, principal: Principal, limit: int, next_token: str | None
) -> Page[RegisteredPhoneNumber]:
    agent = _agent(agent_id)
    items, token = numbers_repo.list_by_agent(principal.user_id, agent, limit=limit, token=next_token)
    return Page[RegisteredPhoneNumber](items=[view(i, with_providers=False) for i in items], next_token=token)


def unregister(
    agent_id: str, phone_number_id: str, *, principal: Principal, livekit: lk.LiveKit | None = None
) -> Unregistered:
    agent = _agent(agent_id)

    def registered_to_agent(record: dict[str, Any]) -> None:
        if record.get("agent_id") != agent:
            raise NotFound("no such phone number for this agent")

    token = provisioning.lock_token()
    record, _ = number_config.locked(phone_number_id, principal, token=token, budget=False, prepare=registered_to_agent)
    stored = provisioning.Stored.of(record)
    try:
        provisioning.remove(provisioning.PARTS, stored, livekit or lk.default())
    except DomainError as failure:
        number_config.record_survivors(phone_number_id, token, record, failure)
        raise
    try:
        if record.get("request_id"):  # assigned through a request: the user keeps the number itself
            numbers_repo.save(
                phone_number_id,
                token=token,
                fields={
                    **provisioning.record_of(provisioning.Stored()),
                    "provider": record.get("assigned_provider", record.get("provider")),
                    "updated_at": now_iso(),
                },
                remove=(
                    "agent_id",
                    *keys.AGENT_KEYS,
                    "registration",
                    "call_settings",
                    "registered_at",
                    "auth_secret_arn",
                    "assigned_provider",
                ),
            )
        else:
            numbers_repo.delete(phone_number_id, record["phone_number"], token=token)
    except DomainError:
        provisioning.unlock(phone_number_id, token)  # LiveKit is done: a retry finds it so and finishes
        raise
    if record.get("auth_secret_arn"):
        provisioning.forget_secret(record["auth_secret_arn"])
    return Unregistered(phone_number_id=phone_number_id, agent_id=agent)
