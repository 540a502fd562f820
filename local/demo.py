"""`make demo`: every flow of both API documents, end to end, against the local stack.

Uses the running `make dev` stack when `.local/dev-credentials.json` points at one that answers;
otherwise starts its own on free loopback ports and stops it afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess  # starts `python -m local.stack`, a fixed argv  # nosec B404
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from telephony_client import ApiError, TelephonyClient

ROOT = Path(__file__).resolve().parent.parent
AGENT_ID = "3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def show(label: str, value: Any) -> None:
    text = json.dumps(value, indent=2) if isinstance(value, dict | list) else str(value)
    print(f"   {label}: {text}".replace("\n", "\n   "), flush=True)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/telephony/phone-number-requests", timeout=2)  # http: loopback  # nosec B310
    except urllib.error.HTTPError:
        return True  # 401 without a token: the API is there
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_stack() -> Iterator[dict[str, Any]]:
    existing = ROOT / ".local" / "dev-credentials.json"
    if existing.exists():
        credentials = json.loads(existing.read_text())
        if _answers(credentials["api_url"]):
            print(f"using the running stack at {credentials['api_url']}")
            yield credentials
            return
    state = Path(tempfile.mkdtemp(prefix="demo-stack-"))
    env = {
        **os.environ,
        "API_PORT": str(_free_port()),
        "MOTO_PORT": str(_free_port()),
        "LIVEKIT_PORT": str(_free_port()),
        "LOCAL_STATE_DIR": str(state),
    }
    log = (state / "stack.log").open("w")
    process = subprocess.Popen(  # sys.executable -m local.stack, no shell  # nosec B603
        [sys.executable, "-m", "local.stack"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 90
        while "ready" not in (state / "stack.log").read_text():
            if process.poll() is not None or time.time() > deadline:
                raise SystemExit("the local stack did not start:\n" + (state / "stack.log").read_text()[-2000:])
            time.sleep(0.2)
        credentials = json.loads((state / "dev-credentials.json").read_text())
        print(f"started a local stack at {credentials['api_url']}")
        yield credentials
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def emulator(credentials: dict[str, Any], path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{credentials['livekit']['url']}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).read()  # the emulator on loopback  # nosec B310


def emulator_state(credentials: dict[str, Any]) -> dict[str, Any]:
    with urllib.request.urlopen(f"{credentials['livekit']['url']}/_emulator/state", timeout=5) as r:  # nosec B310
        return dict(json.loads(r.read()))


def wait(api: TelephonyClient, call_id: str, status: str) -> dict[str, Any]:
    details = api.wait_for(call_id, status, timeout=20)
    show(f"call is {details['status']}", {k: details[k] for k in ("answered_at", "ended_at", "sip_status_code")})
    return details


def run(credentials: dict[str, Any]) -> None:
    url = credentials["api_url"]
    user, admin = credentials["users"][0], credentials["admin"]
    with TelephonyClient(url, token=user["jwt"]) as with_jwt:
        step("1. a user creates an API key (shown once)")
        key = with_jwt.create_api_key("demo laptop")
        show("key", {k: key[k] for k in ("key_id", "prefix", "role")})
    api = TelephonyClient(url, api_key=key["api_key"])
    boss = TelephonyClient(url, api_key=admin["api_key"])
    agent = TelephonyClient(url, api_key=credentials["agent"]["api_key"])

    step("2. request a phone number; an admin approves it; the workflow assigns it")
    number = f"+1415555{int(time.time()) % 10000:04d}"
    request = api.request_phone_number(phone_number=number, country="US", purpose="support line")
    show("request", {k: request[k] for k in ("request_id", "status", "phone_number")})
    show("admin queue", [r["request_id"] for r in boss.review_queue()])
    show("approved", boss.approve(request["request_id"], note="welcome")["status"])
    for _ in range(50):
        request = api.get_phone_number_request(request["request_id"])
        if request["status"] == "assigned":
            break
        time.sleep(0.1)
    show("request", {k: request[k] for k in ("status", "phone_number_id")})
    pid = request["phone_number_id"]

    step("3. configure it: SIP trunks and a dispatch rule in LiveKit")
    configured = api.configure(
        pid,
        sip_trunk={
            "name": "main",
            "address": "sip.telnyx.com",
            "numbers": [number],
            "auth_username": "demo",
            "auth_password": "demo-secret",  # a demo SIP credential for the emulator  # nosec B105
        },
        dispatch_rule={"rule_name": "support", "room_prefix": "support-", "agent_name": "support-agent"},
    )
    show("configuration (no password)", configured)
    show("numbers", [(n["phone_number"], n["configuration_status"]) for n in api.list_phone_numbers()])

    step("4. register a Twilio number for an agent, outbound enabled")
    registered = api.register_phone_number(
        AGENT_ID,
        f"+1510555{int(time.time()) % 10000:04d}",
        "twilio",
        enable_outbound=True,
        outbound_address="demo.pstn.twilio.com",
        auth_username="lk",
        auth_password="demo-secret",  # a demo SIP credential for the emulator  # nosec B106
        transfer_config={"allowed_destinations": ["tel:+15105550100"], "warm_transfer_enabled": True},
        dtmf_config={"dtmf_sequence": "ww1"},
    )
    show("registered", {k: registered[k] for k in ("sip_uri", "dispatch_rule_id", "outbound_trunk_id", "room_pattern")})
    show("instructions", registered["instructions"]["steps"])
    state = emulator_state(credentials)
    show(
        "LiveKit now holds",
        {
            "inbound": len(state["inbound_trunks"]),
            "outbound": len(state["outbound_trunks"]),
            "rules": len(state["dispatch_rules"]),
        },
    )

    step("5. place a call; the callee answers after a second")
    emulator(credentials, "/_emulator/outcomes", {"number": "+14155550199", "outcome": "answer", "after_ms": 1000})
    call = api.create_call(
        "+14155550199",
        from_phone_number_id=registered["phone_number_id"],
        system_prompt="You are a helpful booking agent.",
        welcome_message="Hello!",
    )
    show("created", call)
    wait(api, call["call_id"], "ringing")
    wait(api, call["call_id"], "in_progress")

    step("6. the agent posts the transcript and a summary with its agent key")
    show(
        "events",
        agent.post_events(
            call["call_id"],
            transcript=[
                {"role": "agent", "text": "Hello! Shall I book you for Monday?"},
                {"role": "user", "text": "Yes please."},
            ],
            summary="Booked for Monday.",
        ),
    )

    step("7. transfer: an allowed destination (warm), then one outside the allowlist")
    show("transfers", api.transfer(call["call_id"], "+15105550100", mode="warm")["transfers"])
    try:
        api.transfer(call["call_id"], "+19005550100")
    except ApiError as refused:
        show("refused", f"{refused.status} {refused.code}: {refused.message}")

    step("8. hang up; the details carry the transcript and the summary")
    show("hung up", {k: v for k, v in api.hangup(call["call_id"]).items() if k in ("status", "duration_seconds")})
    details = api.call_details(call["call_id"], transcript=True, summary=True)
    show("details", {k: details[k] for k in ("status", "end_reason", "transcript", "summary")})

    step("9. a busy number and an unanswered one")
    emulator(credentials, "/_emulator/outcomes", {"number": "+14155550188", "outcome": "busy", "after_ms": 300})
    emulator(credentials, "/_emulator/outcomes", {"number": "+14155550177", "outcome": "no_answer"})
    busy = api.create_call("+14155550188", from_phone_number_id=registered["phone_number_id"])
    silent = api.create_call(
        "+14155550177", from_phone_number_id=registered["phone_number_id"], ringing_timeout_seconds=2
    )
    wait(api, busy["call_id"], "busy")
    wait(api, silent["call_id"], "no_answer")

    step("10. stats")
    stats = api.stats()
    show("stats", {k: stats[k] for k in ("total_calls", "answered_calls", "answer_rate", "by_status")})

    step("11. clean up: remove the configuration, unregister the agent's number")
    show("removed", api.delete_configuration(pid, "all"))
    show("unregistered", api.unregister_phone_number(AGENT_ID, registered["phone_number_id"]))
    state = emulator_state(credentials)
    show(
        "LiveKit now holds",
        {
            "inbound": len(state["inbound_trunks"]),
            "outbound": len(state["outbound_trunks"]),
            "rules": len(state["dispatch_rules"]),
        },
    )
    print("\ndemo complete", flush=True)


def main() -> None:
    with local_stack() as credentials:
        run(credentials)


if __name__ == "__main__":
    main()
