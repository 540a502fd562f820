"""The README's first tour, over HTTP against the local stack: a key, a request, an approval."""

from __future__ import annotations

import time

from tests.e2e.conftest import bearer


def _until(http, path, token, status, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = http.get(path, headers=bearer(token)).json()
        if body.get("status") == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{path} never became {status}: {body}")


def test_new_user_requests_a_number_and_an_admin_approves_it(http, local_stack):
    user, admin = local_stack["users"][1], local_stack["admin"]

    # a user with a JWT creates an API key, shown once
    created = http.post("/api-keys", headers=bearer(user["jwt"]), json={"name": "laptop"})
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]

    # requests a number with it
    requested = http.post(
        "/telephony/phone-number-requests",
        headers=bearer(key),
        json={"phone_number": "+12025550147", "purpose": "support line"},
    )
    assert requested.status_code == 201, requested.text
    request_id = requested.json()["request_id"]
    assert requested.headers["RateLimit-Policy"] == '"api";q=1000;w=3600'

    # sees it in the admin queue and gets it approved
    queue = http.get("/admin/phone-number-requests", headers=bearer(admin["api_key"])).json()["items"]
    assert request_id in [r["request_id"] for r in queue]
    approved = http.post(
        f"/admin/phone-number-requests/{request_id}/approve",
        headers=bearer(admin["api_key"]),
        json={"note": "welcome"},
    )
    assert approved.status_code == 200, approved.text

    # the workflow assigns it; it is listed as the user's number
    assigned = _until(http, f"/telephony/phone-number-requests/{request_id}", key, "assigned")
    numbers = http.get("/outbound-calls/phone-numbers", headers=bearer(key)).json()["items"]
    assert [n["phone_number_id"] for n in numbers] == [assigned["phone_number_id"]]


def test_credentials_are_checked_over_http(http, local_stack):
    user = local_stack["users"][0]
    assert http.get("/telephony/phone-number-requests").status_code == 401
    forged = http.get("/telephony/phone-number-requests", headers=bearer("tpk_" + "x" * 60))
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
    made = http.post("/api-keys", headers=bearer(user["jwt"]), json={"name": "temp"}).json()
    assert http.get("/telephony/phone-number-requests", headers=bearer(made["api_key"])).status_code == 200
    assert http.delete(f"/api-keys/{made['key_id']}", headers=bearer(user["jwt"])).status_code == 200
    revoked = http.get("/telephony/phone-number-requests", headers=bearer(made["api_key"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]


def test_admin_routes_are_forbidden_to_users_and_errors_have_one_shape(http, local_stack):
    user = local_stack["users"][0]
    reply = http.get("/admin/phone-number-requests", headers=bearer(user["api_key"]))
    assert reply.status_code == 403
    assert set(reply.json()["error"]) == {"code", "message", "request_id", "details"}
    missing = http.get("/telephony/phone-number-requests/req_nope", headers=bearer(user["api_key"]))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
