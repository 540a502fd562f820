"""The control API (/_emulator/...), fault injection, state() and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from emulator_helpers import API_KEY, API_SECRET, Client, run
from livekit import api

from local.livekit_emulator import Emulator

CALLEE = "+15551230000"
ROOT = Path(__file__).resolve().parents[3]


def _rule_request(room: str) -> api.CreateSIPDispatchRuleRequest:
    return api.CreateSIPDispatchRuleRequest(
        dispatch_rule=api.SIPDispatchRuleInfo(
            rule=api.SIPDispatchRule(dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name=room))
        )
    )


def test_fault_injection_honours_times(client: Client) -> None:
    status, body = client.control(
        "POST", "faults", {"method": "CreateSIPDispatchRule", "code": "unavailable", "times": 2, "msg": "try again"}
    )
    assert status == 200 and body["times"] == 2
    for _ in range(2):
        err = client.error(lambda lk: lk.sip.create_dispatch_rule(_rule_request("a")))
        assert (err.code, err.status, err.message) == ("unavailable", 503, "try again")
        assert client.state()["dispatch_rules"] == []  # failed before any state change
    rule = client(lambda lk: lk.sip.create_dispatch_rule(_rule_request("a")))
    assert rule.sip_dispatch_rule_id.startswith("SDR_")
    st = client.state()
    assert st["counts"]["CreateSIPDispatchRule"] == 3
    assert st["faults"] == {}


def test_fault_default_and_meta(client: Client) -> None:
    status, _ = client.control(
        "POST",
        "faults",
        {
            "method": "CreateSIPParticipant",
            "code": "resource_exhausted",
            "meta": {"sip_status_code": "486", "sip_status": "Busy Here"},
        },
    )
    assert status == 200
    trunk = client.outbound_trunk()
    err = client.error(
        lambda lk: lk.sip.create_sip_participant(
            api.CreateSIPParticipantRequest(sip_trunk_id=trunk, sip_call_to=CALLEE, room_name="f")
        )
    )
    assert isinstance(err, api.SipCallError)
    assert (err.code, err.status, err.message) == ("resource_exhausted", 429, "injected resource_exhausted fault")
    assert err.metadata == {"sip_status_code": "486", "sip_status": "Busy Here"}
    assert client.state()["rooms"] == [] and client.state()["calls"] == []
    # times defaults to 1
    client.dial(trunk, CALLEE, "f")
    assert len(client.state()["calls"]) == 1


def test_fault_validation(client: Client) -> None:
    assert client.control("POST", "faults", {"method": "X", "code": "nope"})[0] == 400
    assert client.control("POST", "faults", {"code": "internal"})[0] == 400
    assert client.control("POST", "faults", {"method": "X", "code": "internal", "times": 0})[0] == 400


def test_outcome_validation(client: Client) -> None:
    status, body = client.control("POST", "outcomes", {"number": CALLEE, "outcome": "explode"})
    assert status == 400 and "outcome must be one of" in body["error"]
    assert client.control("POST", "outcomes", {"number": CALLEE, "outcome": "busy", "after_ms": -1})[0] == 400
    assert client.control("POST", "outcomes", {"number": CALLEE, "outcome": "answer", "sip_code": 486})[0] == 400
    assert client.control("POST", "outcomes", {"outcome": "busy"})[0] == 400
    status, body = client.control("POST", "outcomes", {"number": CALLEE, "outcome": "busy", "after_ms": 5})
    assert status == 200 and (body["outcome"], body["after_ms"]) == ("busy", 5)
    assert client.state()["outcomes"][CALLEE][0]["outcome"] == "busy"


def test_reset_clears_everything(client: Client) -> None:
    trunk = client.outbound_trunk()
    client(
        lambda lk: lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(trunk=api.SIPInboundTrunkInfo(numbers=["+15557770000"]))
        )
    )
    client(lambda lk: lk.sip.create_dispatch_rule(_rule_request("a")))
    client.outcome(CALLEE, "answer", after_ms=5000)
    client.dial(trunk, CALLEE, "x")
    client(lambda lk: lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(room="x", agent_name="a")))
    client.control("POST", "faults", {"method": "ListRooms", "code": "internal"})
    assert client.control("POST", "reset") == (200, {"ok": True})
    st = client.state()
    for key in (
        "inbound_trunks",
        "outbound_trunks",
        "dispatch_rules",
        "rooms",
        "dispatches",
        "transfers",
        "calls",
        "events",
    ):
        assert st[key] == [], key
    assert (st["outcomes"], st["faults"], st["counts"]) == ({}, {}, {})
    # the fault is gone too
    assert client(lambda lk: lk.room.list_rooms(api.ListRoomsRequest())).rooms == []


def test_state_shape(client: Client) -> None:
    trunk = client.outbound_trunk()
    client.dial(trunk, CALLEE, "s", wait_until_answered=True)
    st = client.state()
    assert set(st) >= {
        "inbound_trunks",
        "outbound_trunks",
        "dispatch_rules",
        "rooms",
        "dispatches",
        "transfers",
        "calls",
        "webhooks_sent",
        "counts",
        "events",
    }
    assert st["outbound_trunks"][0]["sipTrunkId"] == trunk
    (room,) = st["rooms"]
    assert room["name"] == "s" and room["sid"].startswith("RM_")
    (p,) = room["participants"]
    assert (p["kind"], p["state"], p["attributes"]["sip.callStatus"]) == ("SIP", "ACTIVE", "active")
    assert st["counts"] == {"CreateSIPOutboundTrunk": 1, "CreateSIPParticipant": 1}


def test_unknown_control_endpoints(client: Client) -> None:
    assert client.control("GET", "nope")[0] == 404
    assert client.control("POST", "nope", {})[0] == 404
    status, _, _ = client.http("POST", "/_emulator/outcomes", b"not json", {"Content-Type": "application/json"})
    assert status == 400


def test_python_api_and_port_zero() -> None:
    with Emulator(api_key="k", api_secret="s" * 32) as emu:
        emu.start(host="127.0.0.1", port=0)
        assert emu.url is not None and emu.url.startswith("http://127.0.0.1:") and emu.port > 0
        rooms = run(lambda lk: lk.room.list_rooms(api.ListRoomsRequest()), emu.url, "k", "s" * 32)
        assert list(rooms.rooms) == []
        emu.set_outcome(CALLEE, "busy", after_ms=1)
        emu.add_fault("ListRooms", "internal")
        assert emu.state()["faults"]["ListRooms"][0]["code"] == "internal"
        emu.reset()
        assert emu.state()["faults"] == {}


def test_command_line() -> None:
    env = dict(os.environ, LIVEKIT_API_KEY=API_KEY, LIVEKIT_API_SECRET=API_SECRET)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.livekit_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("LIVEKIT_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url + "/_emulator/health", timeout=10) as resp:
            assert resp.status == 200
        out = run(lambda lk: lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest()), url)
        assert list(out.items) == []
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
