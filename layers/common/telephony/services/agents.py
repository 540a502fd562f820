"""Register a phone number for an agent (the Register Phone Number API): the number, its trunks, its rule."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from telephony import sip
from telephony.config import settings
from telephony.errors import Conflict, DomainError, InvalidInput, NotFound, NumberTaken
from telephony.models.common import Page
from telephony.models.numbers import NumberRecord
from telephony.models.principal import Principal
from telephony.models.sip import (
    CallSettings,
    ConfigLock,
    DispatchRule,
    InboundTrunk,
    LiveKitIds,
    OutboundTrunk,
    Part,
    Plan,
    RegisteredPhoneNumber,
    RegisterPhoneNumber,
    Registration,
    Unregistered,
)
from telephony.observability import count
from telephony.phone import to_e164
from telephony.repositories.store import Store, default_store
from telephony.services import limits, number_config, providers, provisioning, rate_limits
from telephony.services.provisioning import Passwords, Provisioned, ProvisioningFailed
from telephony.util import epoch, new_id, now_iso

if TYPE_CHECKING:
    from telephony.integrations.livekit import LiveKit

_SECRET_FIELDS = {"auth_password"}
LOCK_SECONDS = 120


def _agent(agent_id: str) -> str:
    try:
        return str(uuid.UUID(agent_id))
    except ValueError as exc:
        raise InvalidInput("agent_id must be a UUID", details=[{"field": "agent_id"}]) from exc


AGENT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def _agent_name(given: object, *, default: str) -> str:
    """The agent to dispatch: `metadata.agent_name` if given, which must be a name like any other agent_name."""
    if given is None or given == "":
        return default
    if not isinstance(given, str) or not AGENT_NAME.fullmatch(given):
        raise InvalidInput(
            "metadata.agent_name must be 1 to 128 letters, digits, '_', '.' or '-'",
            details=[{"field": "metadata.agent_name"}],
        )
    return given


def _room_prefix(agent_id: str) -> str:
    return f"agent-{agent_id[:8]}"


def _call_settings(body: RegisterPhoneNumber) -> CallSettings:
    return CallSettings(
        ringing_timeout_seconds=body.ringing_timeout_seconds,
        max_call_duration_seconds=body.max_call_duration_seconds,
        krisp_enabled=body.krisp_enabled,
        hide_phone_number=body.hide_phone_number,
        custom_headers=body.custom_headers,
        media_encryption=body.media_encryption,
        dtmf_config=body.dtmf_config,
        transfer_config=body.transfer_config,
        agent_features=body.agent_features,
    )


def _plan(
    agent_id: str, e164: str, body: RegisterPhoneNumber, principal: Principal, provider: providers.Provider, db: Store
) -> tuple[Plan, Passwords]:
    headers = sip.custom_headers(body.custom_headers)
    mapping = sip.headers_to_attributes(body.headers_to_attributes)
    trunk_numbers = sip.numbers(body.trunk_numbers, field="trunk_numbers") or [e164]
    outbound_numbers = sip.numbers(body.outbound_numbers, field="outbound_numbers") or [e164]
    allowed_numbers = sip.numbers(body.allowed_numbers, field="allowed_numbers")
    addresses = sip.allowed_addresses(body.allowed_addresses)
    for field, numbers in (("trunk_numbers", trunk_numbers), ("outbound_numbers", outbound_numbers)):
        number_config.require_owned_numbers(numbers, principal, db, field=field, own=e164)
    if bool(body.auth_username) != bool(body.auth_password):
        raise InvalidInput("give auth_username and auth_password together", details=[{"field": "auth_username"}])
    agent_name = _agent_name(body.metadata.get("agent_name"), default=agent_id)
    db.numbers.claim_agent_name(agent_name, principal.user_id)
    password = body.auth_password or ""
    plan = Plan()
    passwords: Passwords = {}
    name = f"{provider.name} {e164}"
    if provider.requires_trunk:
        plan = plan.with_part(
            Part.INBOUND,
            InboundTrunk(
                name=name,
                numbers=trunk_numbers,
                allowed_addresses=addresses,
                allowed_numbers=allowed_numbers,
                auth_username=body.auth_username or "",
                has_password=bool(password),
                headers=headers,
                headers_to_attributes=mapping,
                krisp_enabled=body.krisp_enabled,
                ringing_timeout_seconds=body.ringing_timeout_seconds,
                max_call_duration_seconds=body.max_call_duration_seconds,
                media_encryption=body.media_encryption,
            ),
        )
        if password:
            passwords[Part.INBOUND] = password
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
        if provider.outbound_requires_credentials and not password:
            raise InvalidInput(
                f"{provider.name} requires auth_username and auth_password for outbound calling",
                details=[{"field": "auth_password"}],
            )
        plan = plan.with_part(
            Part.OUTBOUND,
            OutboundTrunk(
                name=name,
                address=sip.outbound_address(raw),
                numbers=outbound_numbers,
                transport=body.outbound_transport,
                destination_country=(body.destination_country or "").upper(),
                auth_username=body.auth_username or "",
                has_password=bool(password),
                headers=headers,
                media_encryption=body.media_encryption,
            ),
        )
        if password:
            passwords[Part.OUTBOUND] = password
    rule = DispatchRule(
        name=f"agent {agent_id}",
        room_prefix=_room_prefix(agent_id),
        agent_name=agent_name,
        numbers=[] if provider.requires_trunk else [e164],
        # without a trunk of ours, the callers a LiveKit number accepts are the rule's to filter
        inbound_numbers=[] if provider.requires_trunk else allowed_numbers,
        hide_phone_number=body.hide_phone_number,
        krisp_enabled=body.krisp_enabled,
    )
    return plan.with_part(Part.RULE, rule), passwords


def _sip_domain() -> str:
    return settings().livekit_sip_domain or "sip.livekit.invalid"


def view(number: NumberRecord, agent_id: str, *, with_providers: bool = True) -> RegisteredPhoneNumber:
    provider = providers.get(number.provider or "custom")
    domain = _sip_domain()
    e164 = number.phone_number
    sip_uri = f"sip:{e164}@{domain}"
    rule, outbound, ids = number.plan.rule, number.plan.outbound, number.livekit
    room_pattern = f"{rule.room_prefix if rule else ''}_<caller>_<random>"
    inbound_addresses = [a.strip() for a in settings().livekit_inbound_addresses.split(",") if a.strip()] or [domain]
    values = {
        "sip_uri": sip_uri,
        "sip_uri_host": f"sip:{domain}",
        "phone_number": e164,
        "outbound_address": outbound.address if outbound else "(not enabled)",
        "dispatch_rule_id": ids.rule,
        "room_pattern": room_pattern,
        "agent_name": rule.agent_name if rule else None,
    }
    return RegisteredPhoneNumber(
        agent_id=agent_id,
        phone_number=e164,
        provider=provider.name,
        sip_uri=sip_uri,
        dispatch_rule_id=ids.rule or "",
        outbound_enabled=bool(ids.outbound),
        status=number.status,
        created_at=number.registered_at or number.created_at,
        instructions=providers.instructions(provider, values),
        outbound_trunk_id=ids.outbound,
        outbound_address=outbound.address if outbound else None,
        provider_config=number.registration.provider_config if number.registration else {},
        room_pattern=room_pattern,
        livekit_sip_domain=domain,
        inbound_addresses=inbound_addresses,
        supported_providers=providers.supported() if with_providers else None,
        phone_number_id=number.phone_number_id,
        inbound_trunk_id=ids.inbound,
    )


def _unconfigured(number: NumberRecord) -> None:
    if number.agent_id or any(number.livekit.get(p) for p in Part):
        raise Conflict(
            f"{number.phone_number} is already registered or configured; remove that first",
            details=[{"field": "phone_number"}],
        )


def _claim_or_create(
    e164: str, provider: providers.Provider, principal: Principal, token: str, db: Store
) -> tuple[NumberRecord, bool]:
    """The caller's unconfigured number to attach to, or a new number item; both locked by `token`. A carrier's
    number is the caller's to bring; a LiveKit number is the operator's, held only through an approved request
    (or registered by an admin)."""
    claim = db.numbers.claims([e164]).get(e164)
    if claim is None and not provider.requires_trunk and not principal.is_admin:
        raise Conflict(
            f"{e164} is a LiveKit number: request it (POST /telephony/phone-number-requests) and register it once "
            "it is assigned to you",
            details=[{"field": "phone_number", "issue": "not_assigned"}],
        )
    if claim is not None:
        if not claim.held_as_number_of(principal.user_id) or not claim.phone_number_id:
            raise Conflict(f"{e164} is already registered or requested", details=[{"field": "phone_number"}])
        number, _ = number_config.locked(claim.phone_number_id, principal, token=token, db=db, prepare=_unconfigured)
        return number, False
    moment = now_iso()
    number = NumberRecord(
        phone_number_id=new_id("pn"),
        phone_number=e164,
        owner_id=principal.user_id,
        created_at=moment,
        updated_at=moment,
        config_lock=ConfigLock(token=token, until=epoch() + LOCK_SECONDS),
    )
    try:
        db.numbers.create(
            number,
            charge=rate_limits.charge(rate_limits.CONFIGURATIONS, principal.user_id, store=db),
            max_numbers=limits.of(principal.user_id, store=db).max_numbers,
        )
    except NumberTaken as taken:
        raise Conflict(f"{e164} is already registered or requested", details=[{"field": "phone_number"}]) from taken
    return number, True


def register(
    agent_id: str,
    body: RegisterPhoneNumber,
    *,
    principal: Principal,
    livekit: LiveKit | None = None,
    store: Store | None = None,
) -> RegisteredPhoneNumber:
    db = store or default_store()
    agent = _agent(agent_id)
    e164 = to_e164(body.phone_number)
    provider = providers.get(body.provider)
    plan, passwords = _plan(agent, e164, body, principal, provider, db)
    token = provisioning.lock_token()
    number, created = _claim_or_create(e164, provider, principal, token, db)
    pid = number.phone_number_id
    arn = None
    try:
        if passwords:
            arn = provisioning.write_passwords(provisioning.secret_name(pid, token), passwords)
        applied = provisioning.apply(
            plan, Provisioned.of(number), passwords, {}, number_config.livekit_client(livekit), number=e164
        )
        moment = now_iso()
        registered = applied.result.on(
            number,
            agent_id=agent,
            provider=provider.name,
            registration=Registration.model_validate(body.model_dump(mode="json", exclude=_SECRET_FIELDS)),
            call_settings=_call_settings(body),
            registered_at=moment,
            updated_at=moment,
            auth_secret_arn=arn,
            # given back when it is unregistered
            assigned_provider=number.assigned_provider if number.assigned_provider is not None else number.provider,
        )
        try:
            saved = db.numbers.save(registered, token=token)
        except DomainError as failure:
            raise applied.undone(failure) from failure
    except DomainError as failure:
        count("ProvisioningFailures")
        kept_arn = number_config.surviving_secret(failure, passwords, arn)
        if isinstance(failure, ProvisioningFailed) and failure.survivors != Provisioned.of(number):
            # the number stays, with what LiveKit holds and the secret of the passwords it holds
            number_config.keep_survivors(db, token, number, failure, secret_arn=kept_arn)
        elif created:
            db.numbers.delete(number, token=token)
        else:
            provisioning.release(db, pid, token)
        if arn and not kept_arn:
            provisioning.forget_secret(arn)
        if isinstance(failure, ProvisioningFailed):
            raise failure.cause from failure
        raise
    return view(saved, agent)


def list_for_agent(
    agent_id: str, *, principal: Principal, limit: int, next_token: str | None, store: Store | None = None
) -> Page[RegisteredPhoneNumber]:
    agent = _agent(agent_id)
    items, token = (store or default_store()).numbers.list_by_agent(
        principal.user_id, agent, limit=limit, token=next_token
    )
    return Page[RegisteredPhoneNumber](items=[view(i, agent, with_providers=False) for i in items], next_token=token)


def unregister(
    agent_id: str,
    phone_number_id: str,
    *,
    principal: Principal,
    livekit: LiveKit | None = None,
    store: Store | None = None,
) -> Unregistered:
    db = store or default_store()
    agent = _agent(agent_id)

    def registered_to_agent(number: NumberRecord) -> None:
        if number.agent_id != agent:
            raise NotFound("no such phone number for this agent")

    token = provisioning.lock_token()
    number, _ = number_config.locked(
        phone_number_id, principal, token=token, db=db, budget=False, prepare=registered_to_agent
    )
    try:
        provisioning.remove(tuple(Part), Provisioned.of(number), number_config.livekit_client(livekit))
    except ProvisioningFailed as failure:
        number_config.keep_survivors(db, token, number, failure)
        raise failure.cause from failure
    try:
        if number.request_id:  # assigned through a request: the user keeps the number itself
            kept = Provisioned(Plan(), LiveKitIds()).on(
                number,
                provider=number.assigned_provider,
                agent_id=None,
                registration=None,
                call_settings=None,
                registered_at=None,
                auth_secret_arn=None,
                updated_at=now_iso(),
            )
            db.numbers.save(kept, token=token)
        else:
            db.numbers.delete(number, token=token)
    except DomainError:
        provisioning.release(db, phone_number_id, token)  # LiveKit is done: a retry finds it so and finishes
        raise
    if number.auth_secret_arn:
        provisioning.forget_secret(number.auth_secret_arn)
    return Unregistered(phone_number_id=phone_number_id, agent_id=agent)
