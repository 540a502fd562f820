"""livekit.SIP, its dispatch rules: which room an inbound call goes to (livekit-server pkg/service/sip.go)."""

from __future__ import annotations

from livekit.protocol import sip as sip_pb

from .. import ids
from ..auth import Grants
from ..messages import clone
from ..runtime import Handler, Runtime
from ..twirp import TwirpError, sip_dispatch_rule_not_found
from ..validation import (
    InvalidArgument,
    PlainError,
    apply_dispatch_rule_update,
    as_twirp,
    filter_rules,
    validate_dispatch_rule,
    validate_dispatch_rule_update,
    validate_dispatch_rules,
)


def create_dispatch_rule(
    rt: Runtime, g: Grants, req: sip_pb.CreateSIPDispatchRuleRequest
) -> sip_pb.SIPDispatchRuleInfo:
    """From the ``dispatch_rule`` field, or from the legacy fields beside it."""
    g.ensure_sip_admin()
    if req.HasField("dispatch_rule"):
        info = clone(req.dispatch_rule)
        if info.sip_dispatch_rule_id:
            raise TwirpError("invalid_argument", "rule id must not be set")
    else:
        info = sip_pb.SIPDispatchRuleInfo(
            trunk_ids=req.trunk_ids,
            hide_phone_number=req.hide_phone_number,
            inbound_numbers=req.inbound_numbers,
            name=req.name,
            metadata=req.metadata,
            room_preset=req.room_preset,
        )
        if req.HasField("rule"):
            info.rule.CopyFrom(req.rule)
        if req.HasField("room_config"):
            info.room_config.CopyFrom(req.room_config)
        info.attributes.update(req.attributes)
    try:
        validate_dispatch_rule(info)
    except (PlainError, InvalidArgument) as e:
        raise as_twirp(e, wrap=True) from None
    with rt.lock:
        store = rt.state.dispatch_rules
        listed = filter_rules(list(store.values()), sip_pb.ListSIPDispatchRuleRequest(trunk_ids=req.trunk_ids))
        try:
            validate_dispatch_rules([*listed, info])
        except InvalidArgument as e:
            raise as_twirp(e, wrap=False) from None
        info.sip_dispatch_rule_id = ids.new_id(ids.SIP_DISPATCH_RULE)
        store[info.sip_dispatch_rule_id] = info
        return clone(info)


def update_dispatch_rule(
    rt: Runtime, g: Grants, req: sip_pb.UpdateSIPDispatchRuleRequest
) -> sip_pb.SIPDispatchRuleInfo:
    """`replace` the whole rule or apply an `update`."""
    g.ensure_sip_admin()
    action = req.WhichOneof("action")
    try:
        if not req.sip_dispatch_rule_id:
            raise PlainError("rule id must be set")
        if action is None:
            raise PlainError("missing or unsupported update action")
        if action == "replace":
            rid = req.replace.sip_dispatch_rule_id
            if rid and rid != req.sip_dispatch_rule_id:
                raise PlainError("rule id in the info must be empty or match the id in the update")
            validate_dispatch_rule(req.replace)
        else:
            validate_dispatch_rule_update(req.update)
    except (PlainError, InvalidArgument) as e:
        raise as_twirp(e, wrap=True) from None
    with rt.lock:
        store = rt.state.dispatch_rules
        current = store.get(req.sip_dispatch_rule_id)
        if current is None:
            raise sip_dispatch_rule_not_found()
        if action == "replace":
            info = clone(req.replace)
            info.sip_dispatch_rule_id = current.sip_dispatch_rule_id
        else:
            info = clone(current)
            try:
                apply_dispatch_rule_update(info, req.update)
            except (PlainError, InvalidArgument) as e:
                raise as_twirp(e, wrap=False) from None
        listed = filter_rules(list(store.values()), sip_pb.ListSIPDispatchRuleRequest(trunk_ids=info.trunk_ids))
        try:
            validate_dispatch_rules([info if r.sip_dispatch_rule_id == req.sip_dispatch_rule_id else r for r in listed])
        except InvalidArgument as e:
            raise as_twirp(e, wrap=False) from None
        store[info.sip_dispatch_rule_id] = info
        return clone(info)


def list_dispatch_rules(
    rt: Runtime, g: Grants, req: sip_pb.ListSIPDispatchRuleRequest
) -> sip_pb.ListSIPDispatchRuleResponse:
    g.ensure_sip_admin()
    with rt.lock:
        return sip_pb.ListSIPDispatchRuleResponse(items=filter_rules(list(rt.state.dispatch_rules.values()), req))


def delete_dispatch_rule(
    rt: Runtime, g: Grants, req: sip_pb.DeleteSIPDispatchRuleRequest
) -> sip_pb.SIPDispatchRuleInfo:
    g.ensure_sip_admin()
    if not req.sip_dispatch_rule_id:
        raise TwirpError("invalid_argument", "dispatch rule ID is required")
    with rt.lock:
        info = rt.state.dispatch_rules.pop(req.sip_dispatch_rule_id, None)
        if info is None:
            raise sip_dispatch_rule_not_found()
        return info


METHODS: dict[str, Handler] = {
    "CreateSIPDispatchRule": create_dispatch_rule,
    "UpdateSIPDispatchRule": update_dispatch_rule,
    "ListSIPDispatchRule": list_dispatch_rules,
    "DeleteSIPDispatchRule": delete_dispatch_rule,
}
