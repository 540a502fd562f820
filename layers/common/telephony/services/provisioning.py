"""LiveKit provisioning as a saga: inbound trunk, outbound trunk and dispatch rule are created (or
replaced) in order, and a failure at any step undoes the earlier ones. What is stored about the
LiveKit side (the `plan`, without passwords, and the resource ids) is exactly what exists there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephony.config import settings
from telephony.errors import Conflict, DomainError, NotFound
from telephony.integrations import livekit as lk
from telephony.integrations import secrets
from telephony.observability import logger
from telephony.repositories import dynamo
from telephony.repositories import numbers as numbers_repo
from telephony.services import rate_limits
from telephony.util import epoch, now_iso

PARTS = ("inbound", "outbound", "rule")
_SPECS: dict[str, type[Any]] = {"inbound": lk.InboundTrunk, "outbound": lk.OutboundTrunk, "rule": lk.DispatchRule}
_IDS = {"inbound": "inbound_trunk_id", "outbound": "outbound_trunk_id", "rule": "dispatch_rule_id"}


@dataclass
class Plan:
    """The desired LiveKit resources of one number; a part left None is not touched."""

    inbound: lk.InboundTrunk | None = None
    outbound: lk.OutboundTrunk | None = None
    rule: lk.DispatchRule | None = None

    def part(self, name: str) -> Any:
        return getattr(self, name)


@dataclass
class Stored:
    """What the numbers item says exists in LiveKit."""

    plan: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, record: dict[str, Any]) -> Stored:
        return cls(dict(record.get("plan") or {}), dict(record.get("livekit") or {}))


def spec_to_stored(spec: Any) -> dict[str, Any]:
    data = dataclasses.asdict(spec)
    password = data.pop("auth_password", None)
    if password is not None:
        data["has_password"] = bool(password)
    return data


def spec_from_stored(part: str, data: dict[str, Any], passwords: dict[str, str]) -> Any:
    values = dict(data)
    has_password = values.pop("has_password", False)
    if part != "rule":
        values["auth_password"] = passwords.get(part, "") if has_password else ""
    return _SPECS[part](**values)


def lock_token() -> str:
    return random.token_hex(8)


class Changed(Conflict):
    """The number was saved by another request between our read and our lock: read it again."""


def lock(record: dict[str, Any], *, owner_id: str, token: str, budget: bool = True) -> None:
    """Take the number's provisioning lock and spend a configuration, atomically, on the number as `record`
    read it (Changed when another request saved it since)."""
    now = epoch()
    items = [
        numbers_repo.lock(
            record["phone_number_id"], owner_id=owner_id, token=token, now=now, revision=record.get("revision")
        )
    ]
    if budget:
        items.append(rate_limits.hit(rate_limits.CONFIGURATIONS, owner_id))
    try:
        dynamo.transact(items)
    except dynamo.TransactionCanceled as canceled:
        if canceled.failed(0):
            old = canceled.items[0] if canceled.items else None
            if not old or old.get("owner_id") != owner_id:
                raise NotFound("no such phone number") from canceled
            held = (old.get("config_lock") or {}).get("until")
            if held is not None and held >= now:
                raise Conflict("this number is being configured by another request; retry shortly") from canceled
            raise Changed("this number was changed by another request; retry shortly") from canceled
        raise rate_limits.limited(rate_limits.CONFIGURATIONS) from canceled


def unlock(phone_number_id: str, token: str) -> None:
    try:
        numbers_repo.save(phone_number_id, token=token, fields={"updated_at": now_iso()})
    except DomainError:
        logger().warning("could not release a provisioning lock", extra={"phone_number_id": phone_number_id})


def forget_secret(arn: str) -> None:
    """Delete a secret no configuration uses any more. The request it belongs to is done: a failure here
    leaves the secret behind (logged) instead of failing that request after the fact."""
    try:
        secrets.delete(arn)
    except DomainError:
        logger().warning("a superseded SIP secret could not be deleted; it stays in Secrets Manager")


def secret_name(phone_number_id: str, token: str) -> str:
    """One secret per configuration: the old one stays intact until the new configuration is saved."""
    return f"{settings().sip_secrets_prefix.rstrip('/')}/{phone_number_id}/{token}"


def apply(
    plan: Plan,
    stored: Stored,
    passwords: dict[str, str],
    old_passwords: dict[str, str],
    livekit: lk.LiveKit,
    *,
    number: str,
    commit: Callable[[Stored], None] | None = None,
) -> Stored:
    """Create or replace every planned part of `number`'s configuration, then `commit` the result (record it).
    On failure, the commit's included, undo this call's steps and raise; the exception carries `.survivors`,
    the resources that exist after the undo (normally the old ones), and `.survivor_plan`, what they are."""
    ids = dict(stored.ids)
    stale = stored.plan.get("rule") or {}
    if (
        plan.inbound is not None
        and not ids.get("inbound")
        and plan.rule is None
        and ids.get("rule")
        and stale.get("trunk_ids")
    ):  # the rule is tied to an inbound trunk that was removed: it follows the new one
        plan.rule = spec_from_stored("rule", {**stale, "trunk_ids": []}, {})
    undo: list[tuple[str, Callable[[], None], str | None]] = []
    created: str | None
    try:
        for part in PARTS:
            spec = plan.part(part)
            if spec is None:
                continue
            spec.metadata = marker(number, part)
            if part == "rule" and not spec.numbers:
                # tied to the number's inbound trunk, or to the number itself: never LiveKit's wildcard rule (neither
                # trunk ids nor numbers), which would take calls to every number of the project, other users' too
                if ids.get("inbound"):
                    spec.trunk_ids = [ids["inbound"]]
                else:
                    spec.numbers = [number]
            existing = ids.get(part)
            if existing:
                old = spec_from_stored(part, stored.plan[part], old_passwords)
                _replace(livekit, part, existing, spec)
                undo.append((part, _bind(_replace, livekit, part, existing, old), None))
            else:
                created = _create(livekit, part, spec, number)
                ids[part] = created
                undo.append((part, _bind(_delete, livekit, part, created), created))
        plan_data = dict(stored.plan)
        for part in PARTS:
            if plan.part(part) is not None:
                plan_data[part] = spec_to_stored(plan.part(part))
        result = Stored(plan_data, ids)
        if commit is not None:
            commit(result)  # a failed record of what LiveKit now holds is undone like a failed step
    except DomainError as failure:
        survivors, survivor_plan = dict(ids), dict(stored.plan)
        for part, step, created in reversed(undo):
            try:
                step()
                if created:
                    survivors.pop(part, None)
            except DomainError:
                survivor_plan[part] = spec_to_stored(plan.part(part))  # it stays as this call made it
                logger().error("undo failed; the resource is kept on record", extra={"part": part, "id": created})
        failure.survivors = survivors  # type: ignore[attr-defined]
        failure.survivor_plan = {k: v for k, v in survivor_plan.items() if k in survivors}  # type: ignore[attr-defined]
        raise
    return result


def remove(parts: tuple[str, ...], stored: Stored, livekit: lk.LiveKit) -> Stored:
    """Delete parts in LiveKit first (rule before trunks); on failure `.survivors` tells what still exists."""
    ids, plan = dict(stored.ids), dict(stored.plan)
    try:
        for part in ("rule", "outbound", "inbound"):
            if part in parts and ids.get(part):
                _delete(livekit, part, ids[part])
                ids.pop(part)
                plan.pop(part, None)
    except DomainError as failure:
        failure.survivors = ids  # type: ignore[attr-defined]
        raise
    for part in parts:
        plan.pop(part, None)
    return Stored(plan, ids)


def record_of(stored: Stored) -> dict[str, Any]:
    return {"plan": stored.plan, "livekit": stored.ids, "configuration_status": status_of(stored)}


def status_of(stored: Stored) -> str:
    present = {part for part in PARTS if stored.ids.get(part)}
    if not present:
        return "unconfigured"
    if "rule" in present and ("inbound" in present or stored.plan.get("rule", {}).get("numbers")):
        return "configured"
    return "partial"


def read_passwords(record: dict[str, Any]) -> dict[str, str]:
    arn = record.get("auth_secret_arn")
    return {k: str(v) for k, v in secrets.read_json(arn).items()} if arn else {}


def _bind(function: Callable[..., None], *args: Any) -> Callable[[], None]:
    return lambda: function(*args)


def marker(number: str, part: str) -> str:
    """The metadata every trunk and rule of a number carries: how one whose creation was not answered is found."""
    return f"telephony-api {number} {part}"


def _create(livekit: lk.LiveKit, part: str, spec: Any, number: str) -> str:
    """Create one part. Creates are not idempotent: when the answer is lost (a timeout, LiveKit failing after
    the write) the resource may exist under an id we never learnt, and LiveKit then refuses the next attempt's
    trunk for the same numbers. So a failed create looks for this number's part by its marker and, if found,
    takes it over (made as this spec says): nothing is left that the table does not know."""
    try:
        if part == "inbound":
            return livekit.create_inbound_trunk(spec)
        if part == "outbound":
            return livekit.create_outbound_trunk(spec)
        return livekit.create_dispatch_rule(spec)
    except DomainError as failure:
        found = _strays(livekit, part, spec, number)
        if not found:
            raise
        adopted, *extra = found
        logger().warning(
            "a create that failed had left a resource: taken over",
            extra={"part": part, "id": adopted, "error": failure.code},
        )
        _replace(livekit, part, adopted, spec)
        for resource_id in extra:
            with contextlib.suppress(DomainError):
                _delete(livekit, part, resource_id)
        return adopted


def _strays(livekit: lk.LiveKit, part: str, spec: Any, number: str) -> list[str]:
    numbers = sorted({number, *getattr(spec, "numbers", [])})
    try:
        if part == "rule":
            return livekit.find(part, spec.metadata, trunk_ids=spec.trunk_ids)
        return livekit.find(part, spec.metadata, numbers=numbers)
    except DomainError:
        logger().error("a failed create could not be checked for a resource it left", extra={"part": part})
        return []


def _replace(livekit: lk.LiveKit, part: str, resource_id: str, spec: Any) -> None:
    if part == "inbound":
        livekit.replace_inbound_trunk(resource_id, spec)
    elif part == "outbound":
        livekit.replace_outbound_trunk(resource_id, spec)
    else:
        livekit.replace_dispatch_rule(resource_id, spec)


def _delete(livekit: lk.LiveKit, part: str, resource_id: str) -> None:
    if part == "rule":
        livekit.delete_dispatch_rule(resource_id)
    else:
        livekit.delete_trunk(resource_id)
