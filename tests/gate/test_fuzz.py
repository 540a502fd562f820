"""Schemathesis against the local stack (`python -m local.stack`, what `make dev` runs), from the API's own
`GET /openapi.json`, with the stack's real credentials from its dev-credentials.json and every check
(server errors, ignored_auth, response schema, status code, content type, headers conformance, ...).

`make test` runs 100 examples per operation; `make verify` 1,000 (GATE_FUZZ_EXAMPLES). Set
GATE_STACK_CREDENTIALS to a running stack's dev-credentials.json to fuzz that stack instead of a new one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import unsupported_method

from local.template import Stack
from tests.gate.conftest import AGENT, REGISTER, figure

pytestmark = [pytest.mark.fuzz, pytest.mark.e2e]

EXAMPLES = int(os.environ.get("GATE_FUZZ_EXAMPLES", "100"))
HAS_OPENAPI = "GetOpenapiFunction" in Stack().functions()
if not HAS_OPENAPI:
    pytest.skip("no GET /openapi.json in template.yaml (GetOpenapiFunction) to fuzz from yet", allow_module_level=True)

KEY_BUDGET = 900  # requests per API key before the next one: the API budget is 1,000 an hour per key
USER_BUDGET = 1_000_000  # requests an hour per user across its keys, raised for the run (the default is 5,000)
SEEN: dict[str, dict[int, int]] = {}
_seen_lock = threading.Lock()


@pytest.fixture(scope="session")
def stack_credentials(request: pytest.FixtureRequest) -> dict[str, Any]:
    given = os.environ.get("GATE_STACK_CREDENTIALS")
    if given:
        return json.loads(Path(given).read_text())  # type: ignore[no-any-return]
    return request.getfixturevalue("local_stack")  # type: ignore[no-any-return]


class Keys:
    """A principal's API keys, a fresh one every KEY_BUDGET requests, made with their JWT."""

    def __init__(self, url: str, principal: dict[str, Any]) -> None:
        self.url = url
        self.jwt = principal["jwt"]
        self.key = principal["api_key"]
        self.used = 0
        self.made = 0
        self.lock = threading.Lock()

    def current(self) -> str:
        with self.lock:
            self.used += 1
            if self.used > KEY_BUDGET:
                self.key, self.used, self.made = self._new_key(), 1, self.made + 1
            return self.key

    def _new_key(self) -> str:
        """A fresh key; when the principal holds as many keys as it may (the fuzzer's own POST /api-keys make
        keys too), the ones it does not use are revoked first."""
        auth = {"Authorization": f"Bearer {self.jwt}"}
        with httpx.Client(base_url=self.url, headers=auth, timeout=30) as http:
            reply = http.post("/api-keys", json={"name": f"fuzz {self.made}"})
            if reply.status_code == 409:
                prefix, token = self.key[:12], None
                while True:
                    page = http.get("/api-keys", params={"limit": 100, **({"next_token": token} if token else {})})
                    for key in page.json()["items"]:
                        if not key.get("revoked_at") and key["prefix"] != prefix and key["role"] != "agent":
                            http.delete(f"/api-keys/{key['key_id']}")
                    token = page.json().get("next_token")
                    if not token:
                        break
                reply = http.post("/api-keys", json={"name": f"fuzz {self.made}"})
            reply.raise_for_status()
            return str(reply.json()["api_key"])


@pytest.fixture(scope="session")
def seeded(stack_credentials: dict[str, Any]) -> dict[str, Any]:
    """A number that can place calls and a pending request, so generated requests can reach the end of a flow."""
    url = stack_credentials["api_url"]
    admin = {"Authorization": f"Bearer {stack_credentials['admin']['api_key']}"}
    with httpx.Client(base_url=url, headers=admin, timeout=30) as http:
        # a run sends more than a user's hourly budget across its keys (every operation's examples): the operator
        # raises it, through the admin's route, for the two principals the fuzzer acts as
        for principal in (stack_credentials["users"][0], stack_credentials["admin"]):
            raised = http.put(
                f"/admin/accounts/{principal['user_id']}/limits", json={"api_requests_per_hour_per_user": USER_BUDGET}
            )
            assert raised.status_code == 200, raised.text
    alice = {"Authorization": f"Bearer {stack_credentials['users'][0]['api_key']}"}
    with httpx.Client(base_url=url, headers=alice, timeout=30) as http:
        number = {**REGISTER, "phone_number": "+14155550150", "auth_password": "fuzz-pw"}
        registered = http.post(f"/agents/{AGENT}/phone-numbers", json=number)
        assert registered.status_code in (201, 409), registered.text
        http.post("/telephony/phone-number-requests", json={"phone_number": "+14155550151", "country": "US"})
    return {
        "url": url,
        "keys": Keys(url, stack_credentials["users"][0]),  # alice
        "admin": Keys(url, stack_credentials["admin"]),  # for the review routes, so they are fuzzed past 403
    }


def _document() -> dict[str, Any]:
    """The document the stack serves at /openapi.json (test_the_stack_serves_this_document holds them equal):
    schemathesis needs it when tests are collected, before the stack runs."""
    from local.openapi import DOCUMENT

    return json.loads(DOCUMENT.read_text())  # type: ignore[no-any-return]


schema = schemathesis.openapi.from_dict(_document())
schema.config.generation.update(max_examples=EXAMPLES)
_keys: list[Keys] = []  # [alice's, the admin's], once the stack runs
PENDING = "pending-stack-start"


def _key_for(case: Any) -> str:
    if not _keys:
        return PENDING  # the schema's own examples are drawn at collection, before the stack runs
    return _keys[1 if case.operation.path.startswith("/admin/") else 0].current()


@schema.auth(refresh_interval=None)
class StackKeys:
    def get(self, case: Any, context: Any) -> str:
        return _key_for(case)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="session")
def target(seeded: dict[str, Any]) -> str:
    _keys[:] = [seeded["keys"], seeded["admin"]]
    return str(seeded["url"])


def test_the_stack_serves_this_document(seeded: dict[str, Any]) -> None:
    served = httpx.get(f"{seeded['url']}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(_document()))


# API Gateway answers a method no route declares with its own 404 before any function runs (the local
# gateway does the same): a 405 with Allow would need catch-all routes. Every other check runs.
EXCLUDED = [unsupported_method]
# Schema-valid data the API still refuses, rightly: a JSON Schema cannot say that a string is a valid phone
# number (libphonenumber), an ISO country, a token the server issued, or that an Idempotency-Key was used
# before with another body (422). Those are 400/422 in the error shape, which response_schema_conformance checks.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "400",
    "422",
]
# API Gateway's quotas (body 10 MB, request line and headers 10,240 bytes) refuse oversized input with 413.
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses,
    "413",
]


@schema.parametrize()
def test_fuzz(case: Any, target: str) -> None:
    if (case.headers or {}).get("Authorization") == f"Bearer {PENDING}":
        case.headers["Authorization"] = f"Bearer {_key_for(case)}"
    response = case.call_and_validate(base_url=target, timeout=30, excluded_checks=EXCLUDED)
    with _seen_lock:
        counted = SEEN.setdefault(case.operation.label, {})
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
        figure("fuzz.examples_per_operation", {op: sum(c.values()) for op, c in sorted(SEEN.items())})
        figure("fuzz.statuses", _totals())
        figure("fuzz.requested_examples_per_operation", EXAMPLES)
    assert response.status_code < 500, response.text[:500]


def _totals() -> dict[int, int]:
    totals: dict[int, int] = {}
    for counted in SEEN.values():
        for status, n in counted.items():
            totals[status] = totals.get(status, 0) + n
    return dict(sorted(totals.items()))


def test_the_fuzzed_stack_is_still_healthy(seeded: dict[str, Any]) -> None:
    """After the run: the stack answers, and the seeded number still places a call."""
    time.sleep(0.1)
    key = seeded["keys"].current()
    reply = httpx.get(f"{seeded['url']}/outbound-calls/stats", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert reply.status_code == 200, reply.text
