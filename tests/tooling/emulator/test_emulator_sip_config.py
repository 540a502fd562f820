"""SIP trunks and dispatch rules through the official client."""

from __future__ import annotations

import pytest
from emulator_helpers import Client
from livekit import api
from livekit.protocol.models import ListUpdate


def _inbound(client: Client, **fields) -> api.SIPInboundTrunkInfo:
    return client(
        lambda lk: lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(trunk=api.SIPInboundTrunkInfo(**fields))
        )
    )


def _outbound(client: Client, **fields) -> api.SIPOutboundTrunkInfo:
    return client(
        lambda lk: lk.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(trunk=api.SIPOutboundTrunkInfo(**fields))
        )
    )


def _inbound_error(client: Client, **fields) -> api.TwirpError:
    return client.error(
        lambda lk: lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(trunk=api.SIPInboundTrunkInfo(**fields))
        )
    )


def _outbound_error(client: Client, **fields) -> api.TwirpError:
    return client.error(
        lambda lk: lk.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(trunk=api.SIPOutboundTrunkInfo(**fields))
        )
    )


def _direct(room: str, pin: str = "") -> api.SIPDispatchRule:
    return api.SIPDispatchRule(dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name=room, pin=pin))


def _rule(client: Client, **fields) -> api.SIPDispatchRuleInfo:
    return client(
        lambda lk: lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=api.SIPDispatchRuleInfo(**fields))
        )
    )


# ------------------------------------------------------------------------------ inbound trunks


def test_inbound_trunk_crud(client: Client) -> None:
    t = _inbound(client, name="in", numbers=["+15551110000"], auth_username="u", auth_password="p")
    assert t.sip_trunk_id.startswith("ST_") and len(t.sip_trunk_id) == 15
    assert (t.name, list(t.numbers), t.auth_username) == ("in", ["+15551110000"], "u")

    got = client(
        lambda lk: lk.sip._client.request(
            "SIP",
            "GetSIPInboundTrunk",
            api.GetSIPInboundTrunkRequest(sip_trunk_id=t.sip_trunk_id),
            lk.sip._admin_headers(),
            api.GetSIPInboundTrunkResponse,
        )
    )
    assert got.trunk == t

    listed = client(lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()))
    assert [x.sip_trunk_id for x in listed.items] == [t.sip_trunk_id]
    assert client.state()["inbound_trunks"][0]["sipTrunkId"] == t.sip_trunk_id

    deleted = client(lambda lk: lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=t.sip_trunk_id)))
    assert deleted.sip_trunk_id == t.sip_trunk_id
    assert client.state()["inbound_trunks"] == []
    err = client.error(
        lambda lk: lk.sip._client.request(
            "SIP",
            "GetSIPInboundTrunk",
            api.GetSIPInboundTrunkRequest(sip_trunk_id=t.sip_trunk_id),
            lk.sip._admin_headers(),
            api.GetSIPInboundTrunkResponse,
        )
    )
    assert (err.code, err.status, err.message) == ("not_found", 404, "requested sip trunk does not exist")


@pytest.mark.parametrize(
    "fields",
    [
        {"numbers": ["+15551110000"]},
        {"allowed_addresses": ["10.0.0.0/24"]},
        {"auth_username": "u", "auth_password": "p"},
    ],
)
def test_inbound_trunk_security_field_is_enough(client: Client, fields: dict) -> None:
    assert _inbound(client, name="ok", **fields).sip_trunk_id.startswith("ST_")


def test_inbound_trunk_without_auth_addresses_or_numbers(client: Client) -> None:
    err = _inbound_error(client, name="open", allowed_numbers=["+1555"])
    assert (err.code, err.status) == ("invalid_argument", 400)
    assert err.message == (
        "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers"
    )
    assert client.state()["inbound_trunks"] == []


def test_inbound_trunk_number_conflict(client: Client) -> None:
    first = _inbound(client, name="a", numbers=["+1 (555) 123-0000"])
    err = _inbound_error(client, name="b", numbers=["15551230000"])  # the same number once normalised
    assert (err.code, err.status) == ("invalid_argument", 400)
    assert err.message == (
        f'Conflicting inbound SIP Trunks: "<new>" and "{first.sip_trunk_id}", '
        'using the same number(s) ["15551230000"] without AllowedNumbers set'
    )
    assert len(client.state()["inbound_trunks"]) == 1
    # telling them apart by allowed_numbers is fine, a clash on an allowed number is not
    _inbound(client, name="c", numbers=["+15551230000"], allowed_numbers=["+15559990000"])
    err = _inbound_error(client, name="d", numbers=["+15551230000"], allowed_numbers=["+1 555 999 0000"])
    assert err.code == "invalid_argument"
    assert err.message.endswith('and AllowedNumber "+1 555 999 0000"')
    # different numbers never conflict
    _inbound(client, name="e", numbers=["+15551230001"])
    assert len(client.state()["inbound_trunks"]) == 3


def test_inbound_list_filters(client: Client) -> None:
    a = _inbound(client, name="a", numbers=["+15550000001"])
    b = _inbound(client, name="b", numbers=["+15550000002"])
    c = _inbound(client, name="c", auth_username="u", auth_password="p")  # no numbers: matches any
    ids = sorted([a.sip_trunk_id, b.sip_trunk_id, c.sip_trunk_id])
    everything = client(lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()))
    assert [t.sip_trunk_id for t in everything.items] == ids
    by_id = client(lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest(trunk_ids=[b.sip_trunk_id])))
    assert [t.sip_trunk_id for t in by_id.items] == [b.sip_trunk_id]
    by_number = client(lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest(numbers=["1 555 000 0001"])))
    assert sorted(t.sip_trunk_id for t in by_number.items) == sorted([a.sip_trunk_id, c.sip_trunk_id])


def test_inbound_update_replace_and_fields(client: Client) -> None:
    t = _inbound(client, name="a", numbers=["+15550000001"], metadata="m")
    replaced = client(
        lambda lk: lk.sip.update_inbound_trunk(
            t.sip_trunk_id, api.SIPInboundTrunkInfo(name="b", allowed_addresses=["1.2.3.4"])
        )
    )
    assert replaced.sip_trunk_id == t.sip_trunk_id
    assert (replaced.name, list(replaced.numbers), replaced.metadata) == ("b", [], "")
    assert list(replaced.allowed_addresses) == ["1.2.3.4"]

    updated = client(
        lambda lk: lk.sip.update_inbound_trunk_fields(
            t.sip_trunk_id,
            numbers=ListUpdate(add=["+15550000009", "+15550000008"]),
            allowed_addresses=ListUpdate(remove=["1.2.3.4"]),
            metadata="meta",
        )
    )
    assert list(updated.numbers) == ["+15550000009", "+15550000008"]
    assert list(updated.allowed_addresses) == []
    assert (updated.name, updated.metadata) == ("b", "meta")
    updated = client(
        lambda lk: lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=ListUpdate(remove=["+15550000009"]))
    )
    assert list(updated.numbers) == ["+15550000008"]
    assert client.state()["inbound_trunks"][0]["numbers"] == ["+15550000008"]

    # an update that leaves the trunk open is refused, and nothing changes
    err = client.error(
        lambda lk: lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=ListUpdate(remove=["+15550000008"]))
    )
    assert (err.code, err.status) == ("invalid_argument", 400)
    assert err.message.startswith("for security, one of the fields must be set")
    assert client.state()["inbound_trunks"][0]["numbers"] == ["+15550000008"]

    # ListUpdate rules (the client drops ListUpdate.clear, leaving an empty update)
    err = client.error(lambda lk: lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=ListUpdate(clear=True)))
    assert (err.code, err.message) == ("invalid_argument", "unsupported list update operation")
    err = client.error(
        lambda lk: lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=ListUpdate(set=["+1"], add=["+2"]))
    )
    assert (err.code, err.message) == ("invalid_argument", "cannot set and change the list at the same time")

    err = client.error(lambda lk: lk.sip.update_inbound_trunk_fields("ST_missing00000", name="x"))
    assert (err.code, err.status, err.message) == ("not_found", 404, "requested sip trunk does not exist")


def test_inbound_update_conflict(client: Client) -> None:
    _inbound(client, name="a", numbers=["+15550000001"])
    b = _inbound(client, name="b", numbers=["+15550000002"])
    err = client.error(
        lambda lk: lk.sip.update_inbound_trunk_fields(b.sip_trunk_id, numbers=ListUpdate(add=["+15550000001"]))
    )
    assert err.code == "invalid_argument"
    assert err.message.startswith("Conflicting inbound SIP Trunks:")


# ------------------------------------------------------------------------------ outbound trunks


def test_outbound_trunk_crud_and_filters(client: Client) -> None:
    a = _outbound(client, name="a", address="sip.example.com:5060", numbers=["+15550000001"])
    b = _outbound(client, name="b", address="10.0.0.1", numbers=["+15550000002"], auth_username="u")
    assert a.sip_trunk_id.startswith("ST_")
    got = client(
        lambda lk: lk.sip._client.request(
            "SIP",
            "GetSIPOutboundTrunk",
            api.GetSIPOutboundTrunkRequest(sip_trunk_id=b.sip_trunk_id),
            lk.sip._admin_headers(),
            api.GetSIPOutboundTrunkResponse,
        )
    )
    assert got.trunk == b
    listed = client(lambda lk: lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest(numbers=["+15550000002"])))
    assert [t.sip_trunk_id for t in listed.items] == [b.sip_trunk_id]
    listed = client(lambda lk: lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest(trunk_ids=[a.sip_trunk_id])))
    assert [t.sip_trunk_id for t in listed.items] == [a.sip_trunk_id]
    # an outbound trunk is not an inbound one
    err = client.error(lambda lk: lk.sip.update_inbound_trunk_fields(a.sip_trunk_id, name="x"))
    assert err.code == "not_found"


def test_outbound_trunk_requires_numbers_and_address(client: Client) -> None:
    err = _outbound_error(client, name="x", address="sip.example.com")
    assert (err.code, err.status, err.message) == ("invalid_argument", 400, "no trunk numbers specified")
    err = _outbound_error(client, name="x", numbers=["+1555"])
    assert (err.code, err.message) == ("invalid_argument", "no outbound address specified")
    assert client.state()["outbound_trunks"] == []


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("sip:pbx.example.com", "trunk address should be a hostname or IP, not SIP URI"),
        ("sips:pbx.example.com", "trunk address should be a hostname or IP, not SIP URI"),
        ("user@pbx.example.com", "trunk address should be a hostname or IP, not SIP URI"),
        ("pbx.example.com;lr", "trunk address should be a hostname or IP, not SIP URI"),
        ("pbx.example.com;transport=tcp", "trunk address should not contain transport parameter"),
        ("pbx.example.com transport=tls", "trunk address should not contain transport parameter"),
    ],
)
def test_outbound_trunk_address_must_be_bare_host(client: Client, address: str, message: str) -> None:
    err = _outbound_error(client, name="x", address=address, numbers=["+1555"])
    assert (err.code, err.status, err.message) == ("invalid_argument", 400, message)
    assert client.state()["outbound_trunks"] == []


def test_outbound_update_replace_and_fields(client: Client) -> None:
    t = _outbound(client, name="a", address="sip.example.com", numbers=["+15550000001"])
    replaced = client(
        lambda lk: lk.sip.update_outbound_trunk(
            t.sip_trunk_id, api.SIPOutboundTrunkInfo(name="b", address="10.1.1.1", numbers=["+15550000003"])
        )
    )
    assert (replaced.sip_trunk_id, replaced.name, replaced.address) == (t.sip_trunk_id, "b", "10.1.1.1")
    updated = client(
        lambda lk: lk.sip.update_outbound_trunk_fields(
            t.sip_trunk_id, address="pbx.example.com", numbers=ListUpdate(add=["+15550000004"])
        )
    )
    assert updated.address == "pbx.example.com"
    assert list(updated.numbers) == ["+15550000003", "+15550000004"]
    # replace is validated up front: invalid_argument
    err = client.error(
        lambda lk: lk.sip.update_outbound_trunk(
            t.sip_trunk_id, api.SIPOutboundTrunkInfo(name="b", address="sip:x", numbers=["+1"])
        )
    )
    assert (err.code, err.status) == ("invalid_argument", 400)
    # an update whose result is invalid comes back as a raw (unknown, 500) error, as from the server
    err = client.error(
        lambda lk: lk.sip.update_outbound_trunk_fields(
            t.sip_trunk_id, numbers=ListUpdate(remove=["+15550000003", "+15550000004"])
        )
    )
    assert (err.code, err.status, err.message) == ("unknown", 500, "no trunk numbers specified")
    assert client.state()["outbound_trunks"][0]["address"] == "pbx.example.com"
    # replace with a mismatching id
    err = client.error(
        lambda lk: lk.sip.update_outbound_trunk(
            t.sip_trunk_id, api.SIPOutboundTrunkInfo(sip_trunk_id="ST_other", address="h", numbers=["+1"])
        )
    )
    assert err.message == "trunk id in the info must be empty or match the id in the update"


def test_delete_trunk_does_not_check_existence(client: Client) -> None:
    out = client(lambda lk: lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id="ST_doesnotexist")))
    assert out.sip_trunk_id == "ST_doesnotexist"
    err = client.error(lambda lk: lk.sip.delete_trunk(api.DeleteSIPTrunkRequest()))
    assert (err.code, err.message) == ("invalid_argument", "trunk ID is required")


def test_create_with_id_is_refused(client: Client) -> None:
    err = _outbound_error(client, sip_trunk_id="ST_x", address="h", numbers=["+1"])
    assert (err.code, err.message) == ("invalid_argument", "trunk id must not be set")


# ------------------------------------------------------------------------------ dispatch rules


def test_dispatch_rule_crud(client: Client) -> None:
    trunk = _inbound(client, name="in", numbers=["+15551110000"])
    rule = _rule(client, rule=_direct("support"), trunk_ids=[trunk.sip_trunk_id], name="r", attributes={"a": "1"})
    assert rule.sip_dispatch_rule_id.startswith("SDR_")
    assert rule.rule.dispatch_rule_direct.room_name == "support"
    listed = client(lambda lk: lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest()))
    assert [r.sip_dispatch_rule_id for r in listed.items] == [rule.sip_dispatch_rule_id]
    assert client.state()["dispatch_rules"][0]["sipDispatchRuleId"] == rule.sip_dispatch_rule_id

    deleted = client(
        lambda lk: lk.sip.delete_dispatch_rule(
            api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id)
        )
    )
    assert deleted == rule
    assert client.state()["dispatch_rules"] == []


def test_delete_missing_dispatch_rule_is_not_found(client: Client) -> None:
    err = client.error(
        lambda lk: lk.sip.delete_dispatch_rule(api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id="SDR_missing"))
    )
    assert (err.code, err.status, err.message) == ("not_found", 404, "requested sip dispatch rule does not exist")


def test_dispatch_rule_legacy_fields(client: Client) -> None:
    rule = client(
        lambda lk: lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(rule=_direct("legacy"), trunk_ids=["ST_a"], name="old style")
        )
    )
    assert (list(rule.trunk_ids), rule.name) == (["ST_a"], "old style")


def test_dispatch_rule_requires_rule(client: Client) -> None:
    err = client.error(
        lambda lk: lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=api.SIPDispatchRuleInfo(name="x"))
        )
    )
    assert (err.code, err.status, err.message) == ("invalid_argument", 400, "missing rule")


def test_dispatch_rule_conflicts(client: Client) -> None:
    first = _rule(client, rule=_direct("a"), trunk_ids=["ST_one"], name="first")
    err = client.error(
        lambda lk: lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(
                dispatch_rule=api.SIPDispatchRuleInfo(rule=_direct("b"), trunk_ids=["ST_two", "ST_one"])
            )
        )
    )
    assert (err.code, err.status) == ("invalid_argument", 400)
    assert err.message == (
        "Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists "
        f'in dispatch rule "{first.sip_dispatch_rule_id}" "first"'
    )
    # another pin, another trunk, or a specific inbound number is another key
    _rule(client, rule=_direct("b", pin="1234"), trunk_ids=["ST_one"])
    _rule(client, rule=_direct("c"), trunk_ids=["ST_two"])
    _rule(client, rule=_direct("d"), trunk_ids=["ST_one"], inbound_numbers=["+15557770000"])
    err = client.error(
        lambda lk: lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(
                dispatch_rule=api.SIPDispatchRuleInfo(
                    rule=_direct("e"), trunk_ids=["ST_one"], inbound_numbers=["1-555-777-0000"]
                )
            )
        )
    )
    assert err.code == "invalid_argument"
    # two catch-all rules (no trunks) clash too
    _rule(client, rule=_direct("any"))
    err = client.error(
        lambda lk: lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=api.SIPDispatchRuleInfo(rule=_direct("any2")))
        )
    )
    assert err.message.endswith('"<blank name>"')
    assert len(client.state()["dispatch_rules"]) == 5


def test_dispatch_rule_list_filters(client: Client) -> None:
    a = _rule(client, rule=_direct("a"), trunk_ids=["ST_a"])
    b = _rule(client, rule=_direct("b"), trunk_ids=["ST_b"])
    c = _rule(client, rule=_direct("c"))  # any trunk
    by_trunk = client(lambda lk: lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest(trunk_ids=["ST_a"])))
    assert sorted(r.sip_dispatch_rule_id for r in by_trunk.items) == sorted(
        [a.sip_dispatch_rule_id, c.sip_dispatch_rule_id]
    )
    by_id = client(
        lambda lk: lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest(dispatch_rule_ids=[b.sip_dispatch_rule_id]))
    )
    assert [r.sip_dispatch_rule_id for r in by_id.items] == [b.sip_dispatch_rule_id]


def test_dispatch_rule_update_replace_and_fields(client: Client) -> None:
    r = _rule(client, rule=_direct("a"), trunk_ids=["ST_a"], name="n", attributes={"x": "1", "y": "2"})
    replaced = client(
        lambda lk: lk.sip.update_dispatch_rule(
            r.sip_dispatch_rule_id, api.SIPDispatchRuleInfo(rule=_direct("b"), name="m")
        )
    )
    assert (replaced.sip_dispatch_rule_id, replaced.name, list(replaced.trunk_ids)) == (r.sip_dispatch_rule_id, "m", [])
    updated = client(
        lambda lk: lk.sip.update_dispatch_rule_fields(
            r.sip_dispatch_rule_id, trunk_ids=ListUpdate(add=["ST_c"]), metadata="meta", attributes={"z": "3"}
        )
    )
    assert (list(updated.trunk_ids), updated.metadata, dict(updated.attributes)) == (["ST_c"], "meta", {"z": "3"})
    assert updated.rule.dispatch_rule_direct.room_name == "b"
    err = client.error(lambda lk: lk.sip.update_dispatch_rule_fields("SDR_missing", name="x"))
    assert (err.code, err.message) == ("not_found", "requested sip dispatch rule does not exist")
    # an update into a conflict is refused
    other = _rule(client, rule=_direct("o", pin="1234"), trunk_ids=["ST_c"])
    err = client.error(lambda lk: lk.sip.update_dispatch_rule_fields(other.sip_dispatch_rule_id, rule=_direct("o")))
    assert err.code == "invalid_argument"
    # rules are checked in id order: the message names whichever of the two comes first
    first = min(r.sip_dispatch_rule_id, other.sip_dispatch_rule_id)
    assert err.message.endswith(
        f'dispatch rule "{first}" "{"m" if first == r.sip_dispatch_rule_id else "<blank name>"}"'
    )
    # ...but, as on the server, only against rules listed for the *stored* rule's trunks
    moved = _rule(client, rule=_direct("m"), trunk_ids=["ST_d"])
    client(
        lambda lk: lk.sip.update_dispatch_rule_fields(moved.sip_dispatch_rule_id, trunk_ids=ListUpdate(set=["ST_c"]))
    )
