"""LiveKit provisioning as a saga: inbound trunk, outbound trunk and dispatch rule are created (or replaced) in
order, and a failure at any step undoes the earlier ones. What is stored about the LiveKit side (the plan,
without passwords, and the resource ids) is exactly what exists there.
"""

from __future__ import annotations

import contextlib
import secrets as random
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from telephony.config import settings
from telephony.errors import DomainError
from telephony.integrations import secrets
from telephony.models.numbers import NumberRecord
from telephony.models.sip import DispatchRule, InboundTrunk, LiveKitIds, OutboundTrunk, Part, Plan, Spec
from telephony.observability import logger
from telephony.repositories.store import Store
from telephony.util import now_iso

if TYPE_CHECKING:
    from telephony.integrations.livekit import LiveKit

Passwords = dict[Part, str]


class Provisioned(NamedTuple):
    """What LiveKit holds for a number: each part's spec and its id."""

    plan: Plan
    ids: LiveKitIds

    @classmethod
    def of(cls, number: NumberRecord) -> Provisioned:
        return cls(number.plan, number.livekit)

    @property
    def status(self) -> str:
        present = {part for part in Part if self.ids.get(part)}
        if not present:
            return "unconfigured"
        if Part.RULE in present and (Part.INBOUND in present or (self.plan.rule and self.plan.rule.numbers)):
            return "configured"
        return "partial"

    def on(self, number: NumberRecord, **changes: object) -> NumberRecord:
        """The number holding these resources (and `changes`)."""
        return number.model_copy(
            update={"plan": self.plan, "livekit": self.ids, "configuration_status": self.status, **changes}
        )


class ProvisioningFailed(DomainError):
    """A saga failed: `cause` is why, `survivors` what LiveKit holds after the undo (normally what it held
    before; more when an undo failed too), `kept` the parts whose undo failed: LiveKit may hold them as the saga
    made them, with its passwords."""

    def __init__(self, cause: DomainError, survivors: Provisioned, kept: frozenset[Part] = frozenset()) -> None:
        super().__init__(cause.message, details=cause.details)
        self.cause = cause
        self.survivors = survivors
        self.kept = kept


def lock_token() -> str:
    return random.token_hex(8)


def release(db: Store, phone_number_id: str, token: str) -> None:
    """Give the number's lock back; a failure is only logged (the lock expires by itself)."""
    try:
        db.numbers.release(phone_number_id, token=token, updated_at=now_iso())
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


def read_passwords(number: NumberRecord) -> Passwords:
    if not number.auth_secret_arn:
        return {}
    stored = secrets.read_json(number.auth_secret_arn)
    return {Part(k): str(v) for k, v in stored.items() if k in Part.__members__.values()}


def write_passwords(name: str, passwords: Passwords) -> str:
    return secrets.write_json(name, {part.value: password for part, password in passwords.items()})


def marker(number: str, part: Part) -> str:
    """The metadata every trunk and rule of a number carries: how one whose creation was not answered is found."""
    return f"telephony-api {number} {part.value}"


class Applied:
    """A saga that succeeded in LiveKit: `result` is what LiveKit now holds. Until it is recorded, it can be
    undone (`undone`), which is what a failure to record it calls for."""

    def __init__(self, before: Provisioned, result: Provisioned, steps: list[_Step]) -> None:
        self.before = before
        self.result = result
        self._steps = steps

    def undone(self, cause: DomainError) -> ProvisioningFailed:
        """Undo every step, newest first; the failure to raise, with what survives."""
        ids = self.result.ids
        plan = self.before.plan
        kept: set[Part] = set()
        for step in reversed(self._steps):
            try:
                step.undo()
            except DomainError:
                plan = plan.with_part(step.part, self.result.plan.get(step.part))  # it stays as this saga made it
                kept.add(step.part)
                logger().error("undo failed; the resource is kept on record", extra={"part": step.part.value})
                continue
            ids = ids.with_part(step.part, self.before.ids.get(step.part))
        survivors = Plan(**{p.value: plan.get(p) for p in Part if ids.get(p)})
        return ProvisioningFailed(cause, Provisioned(survivors, ids), frozenset(kept))


class _Step(NamedTuple):
    part: Part
    undo: Callable[[], None]


def apply(
    plan: Plan,
    current: Provisioned,
    passwords: Passwords,
    old_passwords: Passwords,
    livekit: LiveKit,
    *,
    number: str,
) -> Applied:
    """Create or replace every part `plan` names (the others are left as they are) for the E.164 `number`. On a
    failure, undo this call's steps and raise ProvisioningFailed with what survives."""
    ids = current.ids
    stale = current.plan.rule
    if plan.inbound is not None and not ids.inbound and plan.rule is None and ids.rule and stale and stale.trunk_ids:
        plan = plan.with_part(Part.RULE, stale.model_copy(update={"trunk_ids": []}))  # it follows the new trunk
    steps: list[_Step] = []
    result = current
    try:
        for part in Part:
            spec = plan.get(part)
            if spec is None:
                continue
            spec = _bound(spec, part, number, result.ids)
            password = passwords.get(part, "")
            existing = result.ids.get(part)
            if existing:
                # undone even if its answer is lost: LiveKit may have made it (putting the old spec back is
                # harmless if it did not); a resource whose spec was never recorded is removed instead
                old = current.plan.get(part)
                undo = (
                    _bind(_replace, livekit, existing, old, old_passwords.get(part, ""))
                    if old is not None
                    else _bind(_delete_part, livekit, part, existing)
                )
                steps.append(_Step(part, undo))
                _replace(livekit, existing, spec, password)
            else:
                created = _create(livekit, spec, password, number)
                result = Provisioned(result.plan, result.ids.with_part(part, created))
                steps.append(_Step(part, _bind(_delete_part, livekit, part, created)))
            result = Provisioned(result.plan.with_part(part, spec), result.ids)
    except DomainError as failure:
        raise Applied(current, result, steps).undone(failure) from failure
    return Applied(current, result, steps)


def _bind(function: Callable[..., None], *args: object) -> Callable[[], None]:
    return lambda: function(*args)


def _bound(spec: Spec, part: Part, number: str, ids: LiveKitIds) -> Spec:
    """The spec as LiveKit gets it: marked as this number's, and a rule tied to the number's inbound trunk, or
    to the number itself; never LiveKit's wildcard rule (neither trunk ids nor numbers), which would take calls
    to every number of the project, other users' too."""
    changes: dict[str, object] = {"metadata": marker(number, part)}
    if isinstance(spec, DispatchRule) and not spec.numbers:
        if ids.inbound:
            changes["trunk_ids"] = [ids.inbound]
        else:
            changes["numbers"] = [number]
    return spec.model_copy(update=changes)


def remove(parts: tuple[Part, ...], current: Provisioned, livekit: LiveKit) -> Provisioned:
    """Delete parts in LiveKit (rule before trunks); ProvisioningFailed with what still exists on a failure."""
    result = current
    try:
        for part in reversed(Part):
            resource_id = result.ids.get(part)
            spec = result.plan.get(part)
            if part in parts and resource_id:
                _delete_part(livekit, part, resource_id)
                result = Provisioned(result.plan.with_part(part, None), result.ids.with_part(part, None))
            elif part in parts and spec is not None:
                result = Provisioned(result.plan.with_part(part, None), result.ids)
    except DomainError as failure:
        raise ProvisioningFailed(failure, result) from failure
    return result


def _create(livekit: LiveKit, spec: Spec, password: str, number: str) -> str:
    """Create one part. Creates are not idempotent: when the answer is lost (a timeout, LiveKit failing after
    the write) the resource may exist under an id we never learnt, and LiveKit then refuses the next attempt's
    trunk for the same numbers. So a failed create looks for this number's part by its marker and, if found,
    takes it over (made as this spec says): nothing is left that the table does not know."""
    try:
        if isinstance(spec, InboundTrunk):
            return livekit.create_inbound_trunk(spec, password)
        if isinstance(spec, OutboundTrunk):
            return livekit.create_outbound_trunk(spec, password)
        return livekit.create_dispatch_rule(spec)
    except DomainError as failure:
        found = _strays(livekit, spec, number)
        if not found:
            raise
        adopted, *extra = found
        logger().warning(
            "a create that failed had left a resource: taken over",
            extra={"id": adopted, "error": failure.code},
        )
        _replace(livekit, adopted, spec, password)
        for resource_id in extra:
            with contextlib.suppress(DomainError):
                _delete_part(livekit, _part_of(spec), resource_id)
        return adopted


def _strays(livekit: LiveKit, spec: Spec, number: str) -> list[str]:
    try:
        if isinstance(spec, DispatchRule):
            return livekit.find(Part.RULE, spec.metadata, trunk_ids=spec.trunk_ids)
        return livekit.find(_part_of(spec), spec.metadata, numbers=sorted({number, *spec.numbers}))
    except DomainError:
        logger().error("a failed create could not be checked for a resource it left")
        return []


def _replace(livekit: LiveKit, resource_id: str, spec: Spec, password: str) -> None:
    if isinstance(spec, InboundTrunk):
        livekit.replace_inbound_trunk(resource_id, spec, password)
    elif isinstance(spec, OutboundTrunk):
        livekit.replace_outbound_trunk(resource_id, spec, password)
    else:
        livekit.replace_dispatch_rule(resource_id, spec)


def _part_of(spec: Spec) -> Part:
    if isinstance(spec, InboundTrunk):
        return Part.INBOUND
    return Part.OUTBOUND if isinstance(spec, OutboundTrunk) else Part.RULE


def _delete_part(livekit: LiveKit, part: Part, resource_id: str) -> None:
    if part is Part.RULE:
        livekit.delete_dispatch_rule(resource_id)
    else:
        livekit.delete_trunk(resource_id)
