"""Hostile input is refused before LiveKit is called: the emulator's request counts prove it.

SSRF-shaped trunk addresses (every spelling of loopback, private, link-local and metadata
addresses), numbers that are not E.164 or cost money, transfers outside the allowlist, bodies and
headers over API Gateway's limits, header injection into SIP INVITEs, and JSON that breaks parsers.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import phonenumbers
import pytest

from tests.gate.conftest import (
    AGENT,
    ALLOWED,
    CALLEE,
    CONFIGURE,
    REGISTER,
    call_in_progress,
    figure,
    own_number,
    register,
)
from tests.support import assert_error

LOOPBACK_AND_PRIVATE = [
    "127.0.0.1",
    "127.0.0.1:5060",
    "127.1",
    "127.0.1",
    "0.0.0.0",
    "0",
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f000001",  # ... as hex
    "017700000001",  # ... as octal
    "0x7f.0x0.0x0.0x1",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "127.0.0.0x1",
    "0x7f.1",
    "10.0.0.8",
    "172.16.5.4",
    "192.168.1.10",
    "0xc0.0xa8.0x1.0xa",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "169.254.169.254",  # instance metadata
    "169.254.170.2",  # ECS task metadata
    "2852039166",  # 169.254.169.254 as one decimal number
    "0xA9FEA9FE",
    "0251.0376.0251.0376",
    "169.254.169.254.",
    "[::1]",
    "::1",
    "[::1]:5060",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:7f00:1]",
    "[::ffff:169.254.169.254]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fc00::1]",
    "[fd00:ec2::254]",  # instance metadata over IPv6
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[2002:a9fe:a9fe::]",  # 6to4 of 169.254.169.254
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo of 127.0.0.1
    "localhost",
    "localhost:5060",
    "LOCALHOST.",
    "sip.localhost",
    "metadata",
    "metadata.google.internal",
    "instance-data.ec2.internal",
    "printer.local",
    "intranet",
]
NOT_A_BARE_HOST = [
    "sip:pstn.twilio.com",
    "sips:pstn.twilio.com",
    "SIP:pstn.twilio.com",
    "user@pstn.twilio.com",
    "pstn.twilio.com@127.0.0.1",
    "pstn.twilio.com;transport=tcp",
    "pstn.twilio.com;maddr=127.0.0.1",
    "pstn.twilio.com?x=y",
    "pstn.twilio.com/path",
    "pstn.twilio.com#x",
    "pstn twilio.com",
    "pstn.twilio.com\r\nVia: SIP/2.0/UDP 127.0.0.1",
    "pstn.twilio.com:0",
    "pstn.twilio.com:99999",
    "pstn.twilio.com:50x",
    "-pstn.twilio.com",
    "pstn..twilio.com",
    "pstn.twilio.123",
    "pstn.twilio.0x1",
    "a" * 64 + ".example.com",
]
SSRF = LOOPBACK_AND_PRIVATE + NOT_A_BARE_HOST


def _assert_refused_before_livekit(world: Any, reply: Any, statuses: tuple[int, ...] = (400,)) -> None:
    assert reply.status in statuses, (reply.status, reply.body[:300])
    assert_error(reply, reply.status)
    assert world.livekit.state()["counts"] == {}, world.livekit.state()["counts"]


@pytest.fixture
def mine(world, keys) -> str:
    return own_number("usr_alice")


def test_ssrf_addresses_are_refused_everywhere_an_address_is_taken(world, keys, mine, relaxed_budgets):
    """One world for the whole list (it is long); LiveKit must not have been called once at the end."""
    refused = 0
    for address in SSRF:
        body = {**REGISTER, "outbound_address": address}
        reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body)
        assert reply.status == 400, ("register", address, reply.status, reply.body[:200])
        trunk = {"sip_trunk": {**CONFIGURE["sip_trunk"], "address": address}}
        reply = world.client.post(f"/outbound-calls/phone-numbers/{mine}/configure", token=keys.alice, json_body=trunk)
        assert reply.status == 400, ("configure", address, reply.status, reply.body[:200])
        refused += 2
    assert world.livekit.state()["counts"] == {}
    assert refused == 2 * len(SSRF)
    figure("hostile.ssrf_addresses_refused", f"{len(SSRF)} addresses x 2 fields (register, configure) = {refused}")


@pytest.mark.parametrize("address", ["sip.example.com", "example.pstn.twilio.com", "8.8.8.8", "sip.example.com:5061"])
def test_public_addresses_still_work(world, keys, address):
    assert register(world, keys.alice, outbound_address=address)["outbound_address"] == address


def _premium(region: str) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.PREMIUM_RATE)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


NOT_E164 = [
    "4155550123",
    "14155550123",
    "(415) 555-0123",
    "+1415555",
    "+1415555012345678901",
    "+0",
    "+",
    "",
    "tel:+14155550123",
    "sip:+14155550123@example.com",
    "+1415555O123",
    "+1-415-555-0123\r\nX-Evil: 1",
    "+14155550123;ext=1",
    "+" + "9" * 40,
]
PREMIUM = ["+19005550123", _premium("GB"), _premium("DE"), _premium("FR"), _premium("AU")]


def test_callees_that_are_not_e164_or_cost_money_are_refused(world, keys, relaxed_budgets):
    register(world, keys.alice)
    before = world.livekit.state()["counts"]
    wrong = []
    for number in NOT_E164 + PREMIUM:
        reply = world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": number})
        if not _refused(reply, (400,)):
            wrong.append((number, reply.status))
    assert wrong == []
    figure("hostile.callees_refused", f"{len(NOT_E164)} not E.164 + {len(PREMIUM)} premium-rate")
    assert world.livekit.state()["counts"] == before


def test_numbers_that_are_not_e164_are_refused_on_every_number_field(world, keys, mine, relaxed_budgets):
    wrong = []
    for number in NOT_E164:
        for path, body in (
            ("/telephony/phone-number-requests", {"phone_number": number, "country": "US"}),
            (f"/agents/{AGENT}/phone-numbers", {**REGISTER, "phone_number": number}),
            (f"/agents/{AGENT}/phone-numbers", {**REGISTER, "trunk_numbers": [number]}),
            (f"/agents/{AGENT}/phone-numbers", {**REGISTER, "allowed_numbers": [number]}),
            (
                f"/outbound-calls/phone-numbers/{mine}/configure",
                {"sip_trunk": {**CONFIGURE["sip_trunk"], "numbers": [number]}},
            ),
        ):
            reply = world.client.post(path, token=keys.alice, json_body=body)
            if not _refused(reply, (400,)):
                wrong.append((path, number, reply.status))
    assert wrong == []
    figure("hostile.number_fields_refused", f"{len(NOT_E164)} values x 5 number fields = {len(NOT_E164) * 5}")
    assert world.livekit.state()["counts"] == {}


TRANSFER_TARGETS = [
    "+15105550999",
    "tel:+15105550999",
    "sip:evil@example.com",
    f"sip:{ALLOWED}@127.0.0.1",
    f"sip:{ALLOWED}@169.254.169.254",
    f"sip:{ALLOWED}@[::1]",
    f"sip:{ALLOWED}@0x7f.0.0.1",
    f"tel:{ALLOWED};phone-context=evil",
    f"sip:{ALLOWED}@example.com;transport=tcp",
    f"sip:{ALLOWED}@example.com\r\nVia: x",
    f"<sip:{ALLOWED}@example.com>",
    "sip:@example.com",
    "tel:",
    "mailto:x@example.com",
    "+19005550123",
    "",
]


def test_transfers_outside_the_allowlist_are_refused(world, keys, relaxed_budgets):
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)
    before = world.livekit.state()["counts"]
    for target in TRANSFER_TARGETS:
        reply = world.client.post(
            f"/outbound-calls/{call_id}/transfer", token=keys.alice, json_body={"transfer_to": target, "mode": "warm"}
        )
        assert reply.status in (400, 403), (target, reply.status, reply.body[:200])
        assert_error(reply, reply.status)
    assert world.livekit.state()["counts"] == before
    assert world.livekit.state()["transfers"] == []
    figure("hostile.transfer_targets_refused", len(TRANSFER_TARGETS))


def test_a_premium_number_is_refused_even_when_allowlisted(world, keys):
    premium = "+19005550123"
    register(world, keys.alice, transfer_config={"allowed_destinations": [premium], "warm_transfer_enabled": True})
    call_id = call_in_progress(world, keys.alice)
    before = world.livekit.state()["counts"]
    for mode in ("cold", "warm"):
        reply = world.client.post(
            f"/outbound-calls/{call_id}/transfer", token=keys.alice, json_body={"transfer_to": premium, "mode": mode}
        )
        assert reply.status in (400, 403), reply.body
    assert world.livekit.state()["counts"] == before


SIP_HEADER_INJECTION = [
    {"X-Tenant": "a\r\nVia: SIP/2.0/UDP 127.0.0.1"},
    {"X-Tenant": "a\nContact: <sip:evil@127.0.0.1>"},
    {"X-Tenant": "a\rb"},
    {"X-Tenant": "a\x00b"},
    {"X-Tenant": "a\x85b"},  # NEL
    {"X-Tenant": "a\u2028b"},  # line separator
    {"X-Tenant": "a\tb\x7f"},
    {"X-Tenant\r\nVia": "x"},
    {"X-Tenant: x\r\nVia": "x"},
    {"Via": "SIP/2.0/UDP 127.0.0.1"},
    {"Contact": "<sip:evil@127.0.0.1>"},
    {"X-LK-Inbound": "x"},
    {"x-lk-anything": "x"},
    {"X-": "x"},
    {"X-" + "A" * 70: "x"},
    {"X-Tenant": "x" * 257},
    {"X-Ten\nant": "x"},
]


HEADER_MAPPINGS = [
    {"X-A\r\nB": "attr"},
    {"X-\nA": "attr"},
    {"X-A": "attr\r\nx"},
    {"X-A": "at\ntr"},
    {"X-A": "sip.callID"},
    {"X-A": "lk.x"},
    {"X A": "a"},
]


def test_header_injection_into_sip_headers_is_refused(world, keys, relaxed_budgets):
    wrong = []
    for change in [{"custom_headers": h} for h in SIP_HEADER_INJECTION] + [
        {"headers_to_attributes": m} for m in HEADER_MAPPINGS
    ]:
        reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body={**REGISTER, **change})
        if not _refused(reply, (400,)):
            wrong.append((change, reply.status))
    assert wrong == []
    assert world.livekit.state()["counts"] == {}
    figure("hostile.sip_header_injections_refused", len(SIP_HEADER_INJECTION) + len(HEADER_MAPPINGS))


def test_hostile_idempotency_keys_are_refused(world, keys, relaxed_budgets):
    register(world, keys.alice)
    before = world.livekit.state()["counts"]
    for key in ("a\r\nb", "a\n", "a b", "", "x" * 256, "\u00e9"):
        reply = world.client.post(
            "/outbound-calls/create",
            token=keys.alice,
            headers={"idempotency-key": key},
            json_body={"phone_number": CALLEE},
        )
        assert _refused(reply, (400,)), (key, reply.status)
    assert world.livekit.state()["counts"] == before


# ---------------------------------------------------------------- sizes: API Gateway's limits


def test_a_body_over_10_mb_is_413_at_the_gateway(world, keys):
    body = b'{"summary": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    reply = world.client.post("/outbound-calls/create", token=keys.alice, raw=body)
    assert reply.status == 413
    assert world.livekit.state()["counts"] == {}


def test_a_body_just_under_10_mb_is_a_clean_400(world, keys):
    register(world, keys.alice)
    before = world.livekit.state()["counts"]
    body = json.dumps({"phone_number": CALLEE, "system_prompt": "x" * (10 * 1024 * 1024 - 100)}).encode()
    assert len(body) <= 10 * 1024 * 1024
    assert_error(world.client.post("/outbound-calls/create", token=keys.alice, raw=body), 400, "invalid_request")
    assert world.livekit.state()["counts"] == before


def _base_url(world: Any) -> str:
    return str(world.livekit.webhook_url).removesuffix("/livekit/webhook")


def _raw_http(world: Any, request: bytes) -> int:
    """The status line of the gateway's answer to a hand-written HTTP request (loopback only)."""
    host, port = _base_url(world).removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = sock.recv(4096)
    return int(answer.split(b" ", 2)[1])


def test_an_announced_body_over_10_mb_is_413_before_it_is_read(world, keys):
    request = (
        b"POST /outbound-calls/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {keys.alice}\r\nContent-Type: application/json\r\n".encode()
        + f"Content-Length: {10 * 1024 * 1024 + 1}\r\n\r\n".encode()
    )
    assert _raw_http(world, request) == 413
    assert world.livekit.state()["counts"] == {}


@pytest.mark.parametrize("size", [10 * 1024, 60 * 1024])
def test_headers_over_api_gateways_10_kb_are_refused(world, keys, size):
    reply = world.client.get("/outbound-calls", token=keys.alice, headers={"x-padding": "p" * size})
    assert reply.status == 413, reply.status
    request = (
        b"GET /outbound-calls HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {keys.alice}\r\nX-Padding: {'p' * size}\r\n\r\n".encode()
    )
    assert _raw_http(world, request) in (413, 431)


def test_a_huge_bearer_token_is_refused(world, keys):
    reply = world.client.get("/outbound-calls", token="tpk_" + "a" * 9000)
    assert reply.status in (401, 413)


# ---------------------------------------------------------------- JSON that breaks parsers


HOSTILE_JSON = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"phone_number": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    b"\xff\xfe\x00garbage",
    b'{"phone_number": "\xff"}',
    b"null",
    b"[]",
    b'"+14155550199"',
    b"1e999",
    b'{"phone_number": "+14155550199", "metadata": {"x": NaN}}',
    b'{"phone_number": "+14155550199", "metadata": {"x": Infinity}}',
    b'{"phone_number": "+14155550199", "metadata": {"x": -Infinity}}',
    b'{"phone_number": "+14155550199", "voice": {"speed": NaN}}',
    b'{"phone_number": "+14155550199", "ringing_timeout_seconds": 1e400}',
    b'{"phone_number": "+14155550199", "ringing_timeout_seconds": 100000000000000000000000000000000000000000}',
    b'{"phone_number": "+14155550199"',
    b'{"phone_number": "+14155550199", "phone_number": {"$ne": null}}',
]


def test_json_that_breaks_parsers_is_a_clean_400(world, keys, mine, relaxed_budgets):
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)
    before = world.livekit.state()["counts"]
    wrong = []
    for path in (
        "/outbound-calls/create",
        f"/agents/{AGENT}/phone-numbers",
        f"/outbound-calls/phone-numbers/{mine}/configure",
        f"/outbound-calls/{call_id}/transfer",
        "/telephony/phone-number-requests",
    ):
        for raw in HOSTILE_JSON:
            reply = world.client.post(path, token=keys.alice, raw=raw)
            if not _refused(reply, (400,)):
                wrong.append((path, raw[:40], reply.status))
    assert wrong == []
    assert world.livekit.state()["counts"] == before
    figure("hostile.broken_json_refused", f"{len(HOSTILE_JSON)} bodies x 5 routes = {len(HOSTILE_JSON) * 5}")


STORED_JSON = [
    {"metadata": {"x": float("nan")}},
    {"metadata": {"x": float("inf")}},
    {"metadata": {"x": 10**40}},
    {"metadata": {"x": -(10**40)}},
    {"metadata": {"x": 1e-200}},
    {"metadata": {"x": 1e200}},
    {"provider_config": {"x": float("-inf")}},
    {"provider_config": {"deep": json.loads("[" * 40 + "]" * 40)}},
    {"metadata": {"": "empty key"}},
    {"metadata": {"blob": "x" * 500_000}},
]


def test_free_form_json_that_dynamodb_cannot_store_is_refused_before_livekit(world, keys, relaxed_budgets):
    """metadata and provider_config are stored with the registration: what DynamoDB cannot hold must be
    refused up front, not after the trunks and the rule exist in LiveKit."""
    wrong = []
    for change in STORED_JSON:
        raw = json.dumps({**REGISTER, **change}).encode()  # NaN and Infinity as Python's json writes them
        reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, raw=raw)
        if not _refused(reply, (400,)):
            wrong.append((repr(change)[:60], reply.status))
    assert wrong == []
    assert world.livekit.state()["counts"] == {}
    figure("hostile.unstorable_json_refused", len(STORED_JSON))


def _refused(reply: Any, statuses: tuple[int, ...]) -> bool:
    """Refused with one of `statuses`, in the error shape."""
    if reply.status not in statuses:
        return False
    error = (reply.json() or {}).get("error") or {}
    return bool(error.get("code") and error.get("message") and error.get("request_id"))


def _token(key: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "partition"),
    [
        ("/outbound-calls", {"gsi1pk": "OWNER#usr_alice"}),
        ("/outbound-calls?status=completed", {"gsi2pk": "OWNER#usr_alice#STATUS#completed"}),
        ("/calls", {"gsi1pk": "OWNER#usr_alice#INBOUND"}),
        ("/calls?status=completed&direction=inbound", {"gsi2pk": "OWNER#usr_alice#INBOUND#STATUS#completed"}),
        ("/telephony/phone-number-requests", {"gsi1pk": "OWNER#usr_alice"}),
        ("/outbound-calls/phone-numbers", {"gsi1pk": "OWNER#usr_alice"}),
        ("/api-keys", {"gsi1pk": "OWNER#usr_alice"}),
    ],
)
def test_a_crafted_next_token_in_the_callers_own_partition_is_a_400(world, keys, path, partition):
    """Only the partition was checked: a key DynamoDB refuses as a start key (a part missing, another attribute,
    a value over its size limit) was a 500 (moto's TypeError; DynamoDB's ValidationException)."""
    (index,) = partition
    sort = index.removesuffix("pk") + "sk"
    whole = {"pk": "X#1", "sk": "X#1", **partition, sort: "2026-01-01T00:00:00Z#x"}
    crafted = [
        dict(partition),  # the partition alone
        {k: v for k, v in whole.items() if k != "pk"},  # the table's key missing
        {**whole, "owner_id": "usr_bob"},  # another attribute
        {**whole, sort: "x" * 1025},  # over DynamoDB's key size
        {**whole, sort: ""},  # empty
        {**whole, sort: 7},  # not a string
    ]
    separator = "&" if "?" in path else "?"
    for key in crafted:
        reply = world.client.get(f"{path}{separator}next_token={_token(key)}", token=keys.alice)
        assert_error(reply, 400, "invalid_request")
    figure("hostile.crafted_next_tokens", len(crafted))
