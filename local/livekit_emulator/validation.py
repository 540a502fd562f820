"""SIP trunk / dispatch-rule validation with LiveKit's rules and messages.

Facts from livekit/protocol (``livekit/sip.go`` Validate*/Apply*/Filter, ``livekit/types.go``
ListUpdate, ``sip/sip.go`` ValidateTrunksIter / ValidateDispatchRulesIter) and livekit-server
(``pkg/service/sip.go``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from livekit.protocol import models as models_pb
from livekit.protocol import sip as sip_pb

from .twirp import TwirpError, go_quote, go_quote_list


class PlainError(Exception):
    """A plain Go ``error`` (no Twirp/psrpc code). Reaching the Twirp boundary it becomes ``unknown``."""


class InvalidArgument(Exception):
    """A psrpc/Twirp ``invalid_argument`` error."""


def as_twirp(exc: Exception, wrap: bool) -> TwirpError:
    """How a validation error reaches the Twirp boundary.

    ``wrap``: the handler wrapped it as ``twirp.NewError(InvalidArgument, err.Error())``;
    otherwise a plain Go error becomes ``unknown`` (HTTP 500) and a psrpc one keeps its code.
    """
    if isinstance(exc, TwirpError):
        return exc
    if wrap or isinstance(exc, InvalidArgument):
        return TwirpError("invalid_argument", str(exc))
    return TwirpError("unknown", str(exc))


_RE_NUMBER = re.compile(r"^\+?[\d\- ()]+$")


def normalize_number(num: str) -> str:
    """livekit.NormalizeNumber: drop spaces, dashes and parentheses, ensure a leading '+'."""
    if not num:
        return ""
    if not _RE_NUMBER.match(num):
        return num
    for ch in " -()":
        num = num.replace(ch, "")
    return num if num.startswith("+") else "+" + num


# ---------------------------------------------------------------------------------------------
# field validation


def validate_hostname_format(value: str, field_name: str) -> None:
    if "transport=" in value:
        raise PlainError(f"{field_name} should not contain transport parameter")
    if "@" in value or ";" in value or value.startswith("sip:") or value.startswith("sips:"):
        raise PlainError(f"{field_name} should be a hostname or IP, not SIP URI")


def validate_media(media: Any) -> None:
    for codec in media.codecs:
        if not codec.name:
            raise PlainError("missing codec name")
        if any(c in codec.name for c in " \t\n\r"):
            raise PlainError("invalid codec name")
        if "/" in codec.name:
            raise PlainError("codec name must not contain '/'")
    if media.HasField("media_timeout"):
        seconds = media.media_timeout.seconds + media.media_timeout.nanos / 1e9
        if seconds < 0:
            raise PlainError("media_timeout must not be negative")
        if seconds > 600:
            raise PlainError("media_timeout must not exceed 10m0s")


def validate_inbound_trunk(info: sip_pb.SIPInboundTrunkInfo) -> None:
    has_auth = bool(info.auth_username or info.auth_password)
    if not has_auth and not info.allowed_addresses and not info.numbers:
        raise InvalidArgument(
            "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers"
        )
    if info.HasField("media"):
        validate_media(info.media)


def validate_outbound_trunk(info: sip_pb.SIPOutboundTrunkInfo) -> None:
    if not info.numbers:
        raise PlainError("no trunk numbers specified")
    if not info.address:
        raise PlainError("no outbound address specified")
    validate_hostname_format(info.address, "trunk address")
    validate_hostname_format(info.from_host, "from_host")
    if info.HasField("media"):
        validate_media(info.media)


def validate_outbound_config(cfg: sip_pb.SIPOutboundConfig) -> None:
    if not cfg.hostname:
        raise PlainError("no outbound hostname specified")
    validate_hostname_format(cfg.hostname, "trunk hostname")
    validate_hostname_format(cfg.from_host, "from_host")


def validate_list_update(update: models_pb.ListUpdate) -> None:
    change = len(update.set) + len(update.add) + len(update.remove) > 0
    if not update.clear and not change:
        raise PlainError("unsupported list update operation")
    if update.clear and change:
        raise PlainError("cannot clear and change the list at the same time")
    if update.set and (update.add or update.remove):
        raise PlainError("cannot set and change the list at the same time")
    for v in [*update.set, *update.add, *update.remove]:
        if v == "":
            raise PlainError("empty element in the list")


def apply_list_update(current: Iterable[str], update: models_pb.ListUpdate) -> list[str]:
    if update.clear:
        return []
    if update.set:
        return list(update.set)
    arr = list(current)
    for v in update.remove:
        if v in arr:
            arr.remove(v)
    for v in update.add:
        if v not in arr:
            arr.append(v)
    return arr


def _set_list(msg: Any, name: str, values: list[str]) -> None:
    field = getattr(msg, name)
    del field[:]
    field.extend(values)


def apply_inbound_update(info: sip_pb.SIPInboundTrunkInfo, upd: sip_pb.SIPInboundTrunkUpdate) -> None:
    for name in ("numbers", "allowed_addresses", "allowed_numbers"):
        if upd.HasField(name):
            _set_list(info, name, apply_list_update(getattr(info, name), getattr(upd, name)))
    for name in ("auth_username", "auth_password", "auth_realm", "name", "metadata", "media_encryption"):
        if upd.HasField(name):
            setattr(info, name, getattr(upd, name))
    if upd.HasField("media"):
        info.media.CopyFrom(upd.media)


def apply_outbound_update(info: sip_pb.SIPOutboundTrunkInfo, upd: sip_pb.SIPOutboundTrunkUpdate) -> None:
    for name in (
        "address",
        "transport",
        "destination_country",
        "auth_username",
        "auth_password",
        "name",
        "metadata",
        "from_host",
        "media_encryption",
    ):
        if upd.HasField(name):
            setattr(info, name, getattr(upd, name))
    if upd.HasField("numbers"):
        _set_list(info, "numbers", apply_list_update(info.numbers, upd.numbers))
    if upd.HasField("media"):
        info.media.CopyFrom(upd.media)


def validate_inbound_update(upd: sip_pb.SIPInboundTrunkUpdate) -> None:
    for name in ("numbers", "allowed_addresses", "allowed_numbers"):
        if upd.HasField(name):
            validate_list_update(getattr(upd, name))
    if upd.HasField("media"):
        validate_media(upd.media)


def validate_outbound_update(upd: sip_pb.SIPOutboundTrunkUpdate) -> None:
    if upd.HasField("numbers"):
        validate_list_update(upd.numbers)
    if upd.HasField("media"):
        validate_media(upd.media)


def validate_dispatch_rule(info: sip_pb.SIPDispatchRuleInfo) -> None:
    if not info.HasField("rule"):
        raise PlainError("missing rule")
    if info.HasField("media"):
        validate_media(info.media)


def validate_dispatch_rule_update(upd: sip_pb.SIPDispatchRuleUpdate) -> None:
    if upd.HasField("trunk_ids"):
        validate_list_update(upd.trunk_ids)
    if upd.HasField("media"):
        validate_media(upd.media)


def apply_dispatch_rule_update(info: sip_pb.SIPDispatchRuleInfo, upd: sip_pb.SIPDispatchRuleUpdate) -> None:
    validate_dispatch_rule_update(upd)
    if upd.HasField("trunk_ids"):
        _set_list(info, "trunk_ids", apply_list_update(info.trunk_ids, upd.trunk_ids))
    if upd.HasField("rule"):
        info.rule.CopyFrom(upd.rule)
    for name in ("name", "metadata", "media_encryption"):
        if upd.HasField(name):
            setattr(info, name, getattr(upd, name))
    for k, v in upd.attributes.items():
        if v != "":
            info.attributes[k] = v
        elif k in info.attributes:
            del info.attributes[k]
    if upd.HasField("media"):
        info.media.CopyFrom(upd.media)
    validate_dispatch_rule(info)


# ---------------------------------------------------------------------------------------------
# conflicts


def _print_id(s: str) -> str:
    return s or "<new>"


def _print_name(s: str) -> str:
    return s or "<blank name>"


def _print_numbers(numbers: list[str]) -> str:
    return "<any>" if not numbers else go_quote_list(numbers)


def _validate_trunk_inbound(by_inbound: dict[str, sip_pb.SIPInboundTrunkInfo], t: sip_pb.SIPInboundTrunkInfo) -> None:
    if not t.allowed_numbers:
        t2 = by_inbound.get("")
        if t2 is not None and t2.sip_trunk_id != t.sip_trunk_id:
            raise TwirpError(
                "invalid_argument",
                f"Conflicting inbound SIP Trunks: {go_quote(_print_id(t.sip_trunk_id))} and "
                f"{go_quote(_print_id(t2.sip_trunk_id))}, using the same number(s) "
                f"{_print_numbers(list(t.numbers))} without AllowedNumbers set",
            )
        by_inbound[""] = t
        return
    seen: set[str] = set()
    for num in t.allowed_numbers:
        key = normalize_number(num)
        if key in seen:
            continue
        seen.add(key)
        t2 = by_inbound.get(key)
        if t2 is not None and t2.sip_trunk_id != t.sip_trunk_id:
            raise TwirpError(
                "invalid_argument",
                f"Conflicting inbound SIP Trunks: {go_quote(_print_id(t.sip_trunk_id))} and "
                f"{go_quote(_print_id(t2.sip_trunk_id))}, using the same number(s) "
                f"{_print_numbers(list(t.numbers))} and AllowedNumber {go_quote(num)}",
            )
        by_inbound[key] = t


def validate_trunks(trunks: Iterable[sip_pb.SIPInboundTrunkInfo]) -> None:
    """sip.ValidateTrunksIter: two trunks answering the same number must be told apart by AllowedNumbers."""
    by_number: dict[str, dict[str, sip_pb.SIPInboundTrunkInfo]] = {}
    for t in trunks:
        if not t.numbers:
            _validate_trunk_inbound(by_number.setdefault("", {}), t)
            continue
        seen: set[str] = set()
        for num in t.numbers:
            key = normalize_number(num)
            if key in seen:
                continue
            seen.add(key)
            _validate_trunk_inbound(by_number.setdefault(key, {}), t)


def pin_and_room(info: sip_pb.SIPDispatchRuleInfo) -> tuple[str, str]:
    kind = info.rule.WhichOneof("rule") if info.HasField("rule") else None
    if kind is None:
        raise InvalidArgument("unsupported SIP Dispatch Rule: <nil>")
    rule = getattr(info.rule, kind)
    room = rule.room_name if kind == "dispatch_rule_direct" else rule.room_prefix
    return room, rule.pin


def validate_dispatch_rules(rules: Iterable[sip_pb.SIPDispatchRuleInfo]) -> None:
    """sip.ValidateDispatchRulesIter: no two rules on the same (pin, trunk, inbound number, number)."""
    by_key: dict[tuple[str, str, str, str], sip_pb.SIPDispatchRuleInfo] = {}
    for r in rules:
        _, pin = pin_and_room(r)
        trunks = list(r.trunk_ids) or [""]
        inbound_numbers = list(r.inbound_numbers) or [""]
        numbers = list(r.numbers) or [""]
        for trunk in trunks:
            for inbound in inbound_numbers:
                for number in numbers:
                    key = (pin, trunk, normalize_number(inbound), normalize_number(number))
                    r2 = by_key.get(key)
                    if r2 is not None:
                        raise TwirpError(
                            "invalid_argument",
                            "Dispatch rule for the same trunk, inbound number, number, and PIN combination "
                            f"already exists in dispatch rule {go_quote(_print_id(r2.sip_dispatch_rule_id))} "
                            f"{go_quote(_print_name(r2.name))}",
                        )
                    by_key[key] = r


# ---------------------------------------------------------------------------------------------
# list filters (ListSIP*Request.Filter / FilterSlice)


def filter_inbound(
    items: list[sip_pb.SIPInboundTrunkInfo], req: sip_pb.ListSIPInboundTrunkRequest
) -> list[sip_pb.SIPInboundTrunkInfo]:
    """The store keeps items sorted by id and applies ListSIPInboundTrunkRequest.Filter."""
    wanted = {normalize_number(n) for n in req.numbers}
    out = []
    for t in _after(items, req, "sip_trunk_id"):
        if req.trunk_ids and t.sip_trunk_id not in req.trunk_ids:
            continue
        if req.numbers and t.numbers and not any(n in req.numbers or normalize_number(n) in wanted for n in t.numbers):
            continue
        out.append(t)
    return out


def filter_outbound(
    items: list[sip_pb.SIPOutboundTrunkInfo], req: sip_pb.ListSIPOutboundTrunkRequest
) -> list[sip_pb.SIPOutboundTrunkInfo]:
    out = []
    for t in _after(items, req, "sip_trunk_id"):
        if req.trunk_ids and t.sip_trunk_id not in req.trunk_ids:
            continue
        if req.numbers and t.numbers and not any(n in req.numbers for n in t.numbers):
            continue
        out.append(t)
    return out


def filter_rules(
    items: list[sip_pb.SIPDispatchRuleInfo], req: sip_pb.ListSIPDispatchRuleRequest
) -> list[sip_pb.SIPDispatchRuleInfo]:
    out = []
    for r in _after(items, req, "sip_dispatch_rule_id"):
        if req.dispatch_rule_ids and r.sip_dispatch_rule_id not in req.dispatch_rule_ids:
            continue
        if req.trunk_ids and r.trunk_ids and not any(t in req.trunk_ids for t in r.trunk_ids):
            continue
        out.append(r)
    return out


def _after(items: list[Any], req: Any, id_field: str) -> list[Any]:
    after = req.page.after_id if req.HasField("page") else ""
    ordered = sorted(items, key=lambda m: getattr(m, id_field))
    if not after:
        return ordered
    return [m for m in ordered if not getattr(m, id_field) or getattr(m, id_field) > after]


# ---------------------------------------------------------------------------------------------
# calls


def validate_create_sip_participant(req: sip_pb.CreateSIPParticipantRequest) -> None:
    if not req.sip_trunk_id and not req.HasField("trunk") and not req.sip_number:
        raise PlainError("missing sip trunk id and sip number")
    if req.HasField("trunk"):
        validate_outbound_config(req.trunk)
    if not req.sip_call_to:
        raise PlainError("missing sip callee number")
    if "@" in req.sip_call_to:
        raise PlainError("SipCallTo should be a phone number or SIP user, not a full SIP URI")
    if req.to_user_override and "@" in req.to_user_override:
        raise PlainError("ToUserOverride should be a phone number or SIP user, not a full SIP URI")
    if not req.room_name:
        raise PlainError("missing room name")
    if req.HasField("display_name") and len(req.display_name) > 128:
        raise PlainError("DisplayName too long (max 128 characters)")
    if req.HasField("media"):
        validate_media(req.media)


def validate_transfer(req: sip_pb.TransferSIPParticipantRequest) -> str:
    """TransferSIPParticipantRequest.ValidateResult; returns the Refer-To value LiveKit sends."""
    if not req.room_name:
        raise PlainError("missing room name")
    if not req.participant_identity:
        raise PlainError("missing participant identity")
    if not req.transfer_to:
        raise PlainError("missing transfer to")
    inner = req.transfer_to
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    if not inner.startswith(("sip:", "sips:", "tel:")):
        raise PlainError("transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)")
    if inner.startswith(("sip:", "sips:")):
        return f"<{inner}>"
    return inner
