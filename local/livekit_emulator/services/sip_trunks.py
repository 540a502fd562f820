"""livekit.SIP, its trunks: inbound and outbound SIP trunks (livekit-server pkg/service/sip.go)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livekit.protocol import sip as sip_pb

from .. import ids
from ..auth import Grants
from ..messages import clone
from ..runtime import Handler, Runtime
from ..twirp import TwirpError, sip_trunk_not_found
from ..validation import (
    InvalidArgument,
    PlainError,
    apply_inbound_update,
    apply_outbound_update,
    as_twirp,
    filter_inbound,
    filter_outbound,
    validate_inbound_trunk,
    validate_inbound_update,
    validate_outbound_trunk,
    validate_outbound_update,
    validate_trunks,
)


def create_inbound_trunk(
    rt: Runtime, g: Grants, req: sip_pb.CreateSIPInboundTrunkRequest
) -> sip_pb.SIPInboundTrunkInfo:
    g.ensure_sip_admin()
    if not req.HasField("trunk"):
        raise TwirpError("invalid_argument", "missing trunk")
    if req.trunk.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk id must not be set")
    try:
        validate_inbound_trunk(req.trunk)
    except (PlainError, InvalidArgument) as e:
        raise as_twirp(e, wrap=True) from None
    info = clone(req.trunk)
    with rt.lock:
        store = rt.state.inbound_trunks
        listed = filter_inbound(list(store.values()), sip_pb.ListSIPInboundTrunkRequest(numbers=req.trunk.numbers))
        validate_trunks([*listed, info])
        info.sip_trunk_id = ids.new_id(ids.SIP_TRUNK)
        store[info.sip_trunk_id] = info
        return clone(info)


def create_outbound_trunk(
    rt: Runtime, g: Grants, req: sip_pb.CreateSIPOutboundTrunkRequest
) -> sip_pb.SIPOutboundTrunkInfo:
    g.ensure_sip_admin()
    if not req.HasField("trunk"):
        raise TwirpError("invalid_argument", "missing trunk")
    if req.trunk.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk id must not be set")
    try:
        validate_outbound_trunk(req.trunk)
    except (PlainError, InvalidArgument) as e:
        raise as_twirp(e, wrap=True) from None
    info = clone(req.trunk)
    with rt.lock:
        info.sip_trunk_id = ids.new_id(ids.SIP_TRUNK)
        rt.state.outbound_trunks[info.sip_trunk_id] = info
        return clone(info)


def update_inbound_trunk(
    rt: Runtime, g: Grants, req: sip_pb.UpdateSIPInboundTrunkRequest
) -> sip_pb.SIPInboundTrunkInfo:
    def no_conflict(info: sip_pb.SIPInboundTrunkInfo) -> None:  # called under the lock
        listed = filter_inbound(
            list(rt.state.inbound_trunks.values()), sip_pb.ListSIPInboundTrunkRequest(numbers=info.numbers)
        )
        validate_trunks([info if t.sip_trunk_id == req.sip_trunk_id else t for t in listed])

    g.ensure_sip_admin()
    return _update_trunk(
        rt,
        req,
        lambda: rt.state.inbound_trunks,
        sip_pb.SIPInboundTrunkInfo,
        validate_inbound_trunk,
        validate_inbound_update,
        apply_inbound_update,
        no_conflict,
    )


def update_outbound_trunk(
    rt: Runtime, g: Grants, req: sip_pb.UpdateSIPOutboundTrunkRequest
) -> sip_pb.SIPOutboundTrunkInfo:
    g.ensure_sip_admin()
    return _update_trunk(
        rt,
        req,
        lambda: rt.state.outbound_trunks,
        sip_pb.SIPOutboundTrunkInfo,
        validate_outbound_trunk,
        validate_outbound_update,
        apply_outbound_update,
        None,
    )


def _update_trunk(
    rt: Runtime,
    req: Any,
    store_of: Callable[[], dict[str, Any]],
    info_type: Any,
    validate: Callable[[Any], None],
    validate_update: Callable[[Any], None],
    apply_update: Callable[[Any, Any], None],
    check: Callable[[Any], None] | None,
) -> Any:
    """UpdateSIPInboundTrunk / UpdateSIPOutboundTrunk: `replace` the whole trunk or apply an `update`."""
    action = req.WhichOneof("action")
    try:
        if not req.sip_trunk_id:
            raise PlainError("trunk id must be set")
        if action is None:
            raise PlainError("missing or unsupported update action")
        if action == "replace":
            if req.replace.sip_trunk_id and req.replace.sip_trunk_id != req.sip_trunk_id:
                raise PlainError("trunk id in the info must be empty or match the id in the update")
            validate(req.replace)
        else:
            validate_update(req.update)
    except (PlainError, InvalidArgument) as e:
        raise as_twirp(e, wrap=True) from None
    with rt.lock:
        store = store_of()
        current = store.get(req.sip_trunk_id)
        if current is None:
            raise sip_trunk_not_found()
        info = info_type()
        if action == "replace":
            info.CopyFrom(req.replace)
            info.sip_trunk_id = current.sip_trunk_id
        else:
            info.CopyFrom(current)
            apply_update(info, req.update)
            try:
                validate(info)
            except (PlainError, InvalidArgument) as e:
                raise as_twirp(e, wrap=False) from None
        if check is not None:
            check(info)
        store[info.sip_trunk_id] = info
        return clone(info)


def get_inbound_trunk(
    rt: Runtime, g: Grants, req: sip_pb.GetSIPInboundTrunkRequest
) -> sip_pb.GetSIPInboundTrunkResponse:
    g.ensure_sip_admin()
    if not req.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk ID is required")
    with rt.lock:
        trunk = rt.state.inbound_trunks.get(req.sip_trunk_id)
        if trunk is None:
            raise sip_trunk_not_found()
        return sip_pb.GetSIPInboundTrunkResponse(trunk=trunk)


def get_outbound_trunk(
    rt: Runtime, g: Grants, req: sip_pb.GetSIPOutboundTrunkRequest
) -> sip_pb.GetSIPOutboundTrunkResponse:
    g.ensure_sip_admin()
    if not req.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk ID is required")
    with rt.lock:
        trunk = rt.state.outbound_trunks.get(req.sip_trunk_id)
        if trunk is None:
            raise sip_trunk_not_found()
        return sip_pb.GetSIPOutboundTrunkResponse(trunk=trunk)


def list_inbound_trunks(
    rt: Runtime, g: Grants, req: sip_pb.ListSIPInboundTrunkRequest
) -> sip_pb.ListSIPInboundTrunkResponse:
    g.ensure_sip_admin()
    with rt.lock:
        return sip_pb.ListSIPInboundTrunkResponse(items=filter_inbound(list(rt.state.inbound_trunks.values()), req))


def list_outbound_trunks(
    rt: Runtime, g: Grants, req: sip_pb.ListSIPOutboundTrunkRequest
) -> sip_pb.ListSIPOutboundTrunkResponse:
    g.ensure_sip_admin()
    with rt.lock:
        return sip_pb.ListSIPOutboundTrunkResponse(items=filter_outbound(list(rt.state.outbound_trunks.values()), req))


def list_trunks(rt: Runtime, g: Grants, req: sip_pb.ListSIPTrunkRequest) -> sip_pb.ListSIPTrunkResponse:
    """Deprecated legacy listing: every trunk converted to SIPTrunkInfo."""
    g.ensure_sip_admin()
    with rt.lock:
        items = [_inbound_as_legacy(t) for t in rt.state.inbound_trunks.values()]
        items += [_outbound_as_legacy(t) for t in rt.state.outbound_trunks.values()]
        items.sort(key=lambda t: t.sip_trunk_id)
        return sip_pb.ListSIPTrunkResponse(items=items)


def delete_trunk(rt: Runtime, g: Grants, req: sip_pb.DeleteSIPTrunkRequest) -> sip_pb.SIPTrunkInfo:
    g.ensure_sip_admin()
    if not req.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk ID is required")
    with rt.lock:
        # As the server: the store deletes the id from every trunk table, present or not.
        rt.state.inbound_trunks.pop(req.sip_trunk_id, None)
        rt.state.outbound_trunks.pop(req.sip_trunk_id, None)
    return sip_pb.SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)


def _inbound_as_legacy(t: sip_pb.SIPInboundTrunkInfo) -> sip_pb.SIPTrunkInfo:
    return sip_pb.SIPTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        kind=sip_pb.SIPTrunkInfo.TrunkKind.TRUNK_INBOUND,
        name=t.name,
        metadata=t.metadata,
        outbound_number=t.numbers[0] if t.numbers else "",
        inbound_addresses=t.allowed_addresses,
        inbound_numbers=t.allowed_numbers,
        inbound_username=t.auth_username,
        inbound_password=t.auth_password,
    )


def _outbound_as_legacy(t: sip_pb.SIPOutboundTrunkInfo) -> sip_pb.SIPTrunkInfo:
    return sip_pb.SIPTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        kind=sip_pb.SIPTrunkInfo.TrunkKind.TRUNK_OUTBOUND,
        name=t.name,
        metadata=t.metadata,
        outbound_address=t.address,
        transport=t.transport,
        outbound_number=t.numbers[0] if t.numbers else "",
        outbound_username=t.auth_username,
        outbound_password=t.auth_password,
    )


METHODS: dict[str, Handler] = {
    "CreateSIPInboundTrunk": create_inbound_trunk,
    "CreateSIPOutboundTrunk": create_outbound_trunk,
    "UpdateSIPInboundTrunk": update_inbound_trunk,
    "UpdateSIPOutboundTrunk": update_outbound_trunk,
    "GetSIPInboundTrunk": get_inbound_trunk,
    "GetSIPOutboundTrunk": get_outbound_trunk,
    "ListSIPInboundTrunk": list_inbound_trunks,
    "ListSIPOutboundTrunk": list_outbound_trunks,
    "ListSIPTrunk": list_trunks,
    "DeleteSIPTrunk": delete_trunk,
}
