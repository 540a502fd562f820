"""One realistic, repeatable call per function: the event, what it needs beforehand, the answer expected.

`build(world, n)` makes what n calls need (users, numbers, calls...) through the real handlers and
returns `step(i)`, which may do untimed work of its own first (create the call that is then hung
up) and returns the i-th invocation. Destructive calls get a resource of their own per i, so the
same i can be replayed by a cold-start process against a copy of the tables. Per-user budgets
(5 number requests, 10 configurations, 100 calls an hour, 10 webhooks) are respected by rotating users.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.events import Invocation, Principal, admin, user
from bench.template_info import HTTP, FunctionInfo
from bench.world import (
    AGENT_ID,
    DELIVERER,
    DISPATCHER,
    NO_FAILURES,
    SLOW_CALLEE,
    SWEEPER,
    TRANSFER_CALLEE,
    TRANSFER_TO,
    Failure,
    World,
    agent_of,
    check,
    configure_body,
    register_body,
)


@dataclass
class Step:
    invocation: Invocation
    expect: int | None  # the HTTP status; None for a task or the authorizer (a dict is expected)
    verify: Callable[[Any], bool] | None = None  # more than the status: e.g. the authorizer let the caller in

    def check(self, answer: Any, what: str) -> Any:
        body = check(answer, self.expect, what)
        if self.verify is not None and not self.verify(answer):
            raise Failure(f"{what}: unexpected answer {str(answer)[:500]}")
        return body


StepFn = Callable[[int], Step]


@dataclass(frozen=True)
class Scenario:
    name: str
    function: str
    build: Callable[[World, int], StepFn]
    cold: bool = True  # the event a cold start of this function serves
    warm: bool = True


def measured(user_id: str, tag: str, i: int) -> Principal:
    """The measured caller: its own API key per scenario, a new one every 900 calls (1000 an hour a key)."""
    return user(user_id, key=f"ak_{tag}_{i // 900}")


def _http(world: World, method: str, path: str, principal: Principal | None, expect: int, **kw: Any) -> Step:
    return Step(world.events.http(method, path, principal=principal, **kw), expect)


# ---------------------------------------------------------------- API keys


def create_api_key(world: World, n: int) -> StepFn:
    """A user holds 20 keys at most: a new maker every 20 calls."""
    return lambda i: _http(
        world,
        "POST",
        "/api-keys",
        measured(f"usr_key_maker_{i // 20}", "key_maker", i),
        201,
        body={"name": f"laptop {i}"},
    )


def list_api_keys(world: World, n: int) -> StepFn:
    for _ in range(5):
        world.api_key("usr_key_lister")
    return lambda i: _http(world, "GET", "/api-keys", measured("usr_key_lister", "key_lister", i), 200)


def revoke_api_key(world: World, n: int) -> StepFn:
    """Each call revokes a key made before the run (untimed), by its owner; a user holds 20 keys at most."""
    ids = [world.api_key(f"usr_revoker_{i // 15}")["key_id"] for i in range(n)]
    return lambda i: _http(
        world, "DELETE", f"/api-keys/{ids[i]}", measured(f"usr_revoker_{i // 15}", "revoker", i), 200
    )


def admin_list_api_keys(world: World, n: int) -> StepFn:
    for _ in range(5):
        world.api_key("usr_key_holder")
    return lambda i: _http(
        world,
        "GET",
        "/admin/api-keys",
        Principal("usr_key_auditor", "admin", f"ak_key_auditor_{i // 900}"),
        200,
        query={"user_id": "usr_key_holder"},
    )


def admin_revoke_api_key(world: World, n: int) -> StepFn:
    ids = [world.api_key(f"usr_admin_revokee_{i // 10}")["key_id"] for i in range(n)]
    return lambda i: _http(
        world,
        "DELETE",
        f"/admin/api-keys/{ids[i]}",
        Principal("usr_key_admin", "admin", f"ak_key_admin_{i // 900}"),
        200,
    )


# ---------------------------------------------------------------- phone-number requests


def create_phone_number_request(world: World, n: int) -> StepFn:
    body = {"country": "US", "area_code": "415", "number_type": "local", "purpose": "support line"}
    return lambda i: _http(
        world, "POST", "/telephony/phone-number-requests", user(f"usr_requester_{i // 5}"), 201, body=body
    )


def get_phone_number_request(world: World, n: int) -> StepFn:
    request_id = world.number_request("usr_req_reader", world.numbers.take())["request_id"]
    principal = "usr_req_reader"
    return lambda i: _http(
        world, "GET", f"/telephony/phone-number-requests/{request_id}", measured(principal, "req_reader", i), 200
    )


def list_phone_number_requests(world: World, n: int) -> StepFn:
    for _ in range(3):
        world.number_request("usr_req_lister")
    path = "/telephony/phone-number-requests"
    return lambda i: _http(world, "GET", path, measured("usr_req_lister", "req_lister", i), 200)


def list_review_queue(world: World, n: int) -> StepFn:
    for k in range(3):
        world.number_request(f"usr_queue_{k}")
    path = "/admin/phone-number-requests"
    return lambda i: _http(
        world, "GET", path, admin("usr_queue_admin"), 200, query={"status": "pending", "limit": "20"}
    )


def _pending_requests(world: World, n: int, tag: str, *, numbered: bool, awaiting: bool = False) -> list[str]:
    """`n` pending requests. `awaiting`: each with its review's task token stored, as the workflow's AwaitReview
    task leaves a request moments after it is made, so a decision takes the path it takes on AWS (the token read
    with the request, then SendTaskSuccess or SendTaskFailure; moto accepts any token while it does not run the
    state machines)."""
    ids = [
        world.number_request(f"usr_{tag}_{i // 5}", world.numbers.take() if numbered else None)["request_id"]
        for i in range(n)
    ]
    if awaiting:
        for request_id in ids:
            world.invoke(
                Invocation("AwaitReviewFunction", {"request_id": request_id, "task_token": f"tok-{request_id}"})
            )
    return ids


def approve_phone_number_request(world: World, n: int) -> StepFn:
    ids = _pending_requests(world, n, "approvee", numbered=True, awaiting=True)
    return lambda i: _http(
        world,
        "POST",
        f"/admin/phone-number-requests/{ids[i]}/approve",
        Principal("usr_approver", "admin", f"ak_approver_{i // 900}"),
        200,
        body={"note": "verified with the carrier"},
    )


def reject_phone_number_request(world: World, n: int) -> StepFn:
    ids = _pending_requests(world, n, "rejectee", numbered=False, awaiting=True)
    return lambda i: _http(
        world,
        "POST",
        f"/admin/phone-number-requests/{ids[i]}/reject",
        Principal("usr_rejecter", "admin", f"ak_rejecter_{i // 900}"),
        200,
        body={"reason": "no numbers left in that area"},
    )


# ---------------------------------------------------------------- numbers and their LiveKit configuration


def list_phone_numbers(world: World, n: int) -> StepFn:
    for _ in range(3):
        world.owned_number("usr_number_lister")
    path = "/outbound-calls/phone-numbers"
    return lambda i: _http(world, "GET", path, measured("usr_number_lister", "number_lister", i), 200)


def configure_phone_number(world: World, n: int) -> StepFn:
    """Each call configures a fresh number: inbound trunk, outbound trunk and dispatch rule created."""
    owners = [f"usr_configurer_{i // 5}" for i in range(n)]
    numbers = [world.owned_number(owner) for owner in owners]
    return lambda i: _http(
        world,
        "POST",
        f"/outbound-calls/phone-numbers/{numbers[i]['phone_number_id']}/configure",
        user(owners[i]),
        200,
        body=configure_body(numbers[i]["phone_number"], i, agent_of(owners[i])),
    )


def get_phone_number_configuration(world: World, n: int) -> StepFn:
    number = world.owned_number("usr_config_reader")
    world.configure("usr_config_reader", number, 0)
    path = f"/outbound-calls/phone-numbers/{number['phone_number_id']}/configuration"
    return lambda i: _http(world, "GET", path, measured("usr_config_reader", "config_reader", i), 200)


def delete_phone_number_configuration(world: World, n: int) -> StepFn:
    """Each call removes a configuration made just before it (untimed): two trunks and a rule."""
    owners = [f"usr_deconfigurer_{i // 5}" for i in range(n)]
    numbers = [world.owned_number(owner) for owner in owners]

    def step(i: int) -> Step:
        world.configure(owners[i], numbers[i], 10_000 + i)
        path = f"/outbound-calls/phone-numbers/{numbers[i]['phone_number_id']}/configuration"
        return _http(world, "DELETE", path, user(owners[i]), 200, query={"config_type": "all"})

    return step


def register_agent_phone_number(world: World, n: int) -> StepFn:
    owners = [f"usr_registrant_{i // 10}" for i in range(n)]
    bodies = [register_body(world.numbers.take(), agent_name=agent_of(owner)) for owner in owners]
    path = f"/agents/{AGENT_ID}/phone-numbers"
    return lambda i: _http(world, "POST", path, user(owners[i]), 201, body=bodies[i])


def list_agent_phone_numbers(world: World, n: int) -> StepFn:
    for _ in range(2):
        world.register("usr_agent_lister")
    path = f"/agents/{AGENT_ID}/phone-numbers"
    return lambda i: _http(world, "GET", path, measured("usr_agent_lister", "agent_lister", i), 200)


def unregister_agent_phone_number(world: World, n: int) -> StepFn:
    """Each call unregisters a number registered just before it (untimed)."""

    def step(i: int) -> Step:
        owner = f"usr_unregistrant_{i // 10}"
        registered = world.register(owner)
        path = f"/agents/{AGENT_ID}/phone-numbers/{registered['phone_number_id']}"
        return _http(world, "DELETE", path, user(owner), 200)

    return step


# ---------------------------------------------------------------- calls


def _create_body(i: int) -> dict[str, Any]:
    return {
        "phone_number": SLOW_CALLEE,
        "system_prompt": "You are a helpful support agent. Be brief.",
        "welcome_message": "Hi, this is Acme support.",
        "voice": {"provider": "cartesia", "voice_id": "sonic-english", "speed": 1.0, "language": "en"},
        "metadata": {"crm_id": f"lead-{i}"},
    }


def create_call(world: World, n: int) -> StepFn:
    """Dispatch the agent and dial; the callee rings for an hour (nothing happens while measuring)."""
    return lambda i: _http(world, "POST", "/outbound-calls/create", world.caller(), 201, body=_create_body(i))


def create_call_idempotent(world: World, n: int) -> StepFn:
    return lambda i: _http(
        world,
        "POST",
        "/outbound-calls/create",
        world.caller(),
        201,
        body=_create_body(i),
        headers={"idempotency-key": f"bench-{i}-{id(world)}"},
    )


def _caller_with_calls(world: World, count: int = 6) -> Principal:
    """One user with a few calls of mixed fates, shared by the list and stats scenarios."""
    if "calls_owner" not in world.shared:
        principal = world.caller(reserve=count)
        for k in range(count):
            world.call(TRANSFER_CALLEE if k % 2 else SLOW_CALLEE, principal=principal)
        world.shared["calls_owner"] = principal
    owner: Principal = world.shared["calls_owner"]
    return owner


def list_calls(world: World, n: int) -> StepFn:
    owner = _caller_with_calls(world).user_id
    return lambda i: _http(world, "GET", "/outbound-calls", measured(owner, "call_lister", i), 200)


def get_call_stats(world: World, n: int) -> StepFn:
    owner = _caller_with_calls(world).user_id
    return lambda i: _http(world, "GET", "/outbound-calls/stats", measured(owner, "stats_reader", i), 200)


def get_call_details(world: World, n: int) -> StepFn:
    principal = world.caller()
    call_id = world.call(principal=principal)["call_id"]
    path = f"/outbound-calls/{call_id}/details"
    return lambda i: _http(world, "GET", path, measured(principal.user_id, "details_reader", i), 200)


def post_call_events(world: World, n: int) -> StepFn:
    principal = world.caller()
    call_id = world.call(principal=principal)["call_id"]
    body = {
        "transcript": [{"role": "agent", "text": "Hi, this is Acme support."}, {"role": "user", "text": "Hello!"}],
        "summary": "The caller said hello.",
    }
    path = f"/outbound-calls/{call_id}/events"
    return lambda i: _http(world, "POST", path, measured(principal.user_id, "event_poster", i), 200, body=body)


def hangup_call(world: World, n: int) -> StepFn:
    """Each call hangs up a call placed just before it (untimed), answered and talking for the horizon (a ringing one
    would end `no_answer` at its ringing timeout if the cold runs' preparation took longer): LiveKit deletes the
    room."""

    def step(i: int) -> Step:
        principal = world.caller()
        call_id = world.call(TRANSFER_CALLEE, principal=principal)["call_id"]
        return _http(world, "POST", f"/outbound-calls/{call_id}/hangup", principal, 200)

    return step


def transfer_call(world: World, n: int) -> StepFn:
    """Cold transfers of answered calls (the emulator answered them; its webhooks made them in_progress)."""
    placed = []
    for _ in range(n):
        principal = world.caller()
        placed.append((principal, world.call(TRANSFER_CALLEE, principal=principal)["call_id"]))
    world.wait_calls([call_id for _, call_id in placed], "in_progress")
    return lambda i: _http(
        world,
        "POST",
        f"/outbound-calls/{placed[i][1]}/transfer",
        placed[i][0],
        200,
        body={"transfer_to": TRANSFER_TO, "mode": "cold"},
    )


def livekit_webhook(world: World, n: int) -> StepFn:
    """Each call is LiveKit telling that the callee of a call placed just before (untimed) answered."""

    def step(i: int) -> Step:
        call_id = world.call(SLOW_CALLEE)["call_id"]
        return Step(world.signed_webhook("track_published", call_id), 200)

    return step


# ---------------------------------------------------------------- account webhooks

_SUBSCRIBED = ["call.answered", "call.ended", "call.transferred", "call.summary_ready"]


def create_webhook(world: World, n: int) -> StepFn:
    body = {"url": world.receiver.url, "events": _SUBSCRIBED, "description": "CRM sync"}
    return lambda i: _http(world, "POST", "/webhooks", user(f"usr_hook_maker_{i // 10}"), 201, body=body)


def list_webhooks(world: World, n: int) -> StepFn:
    for events in (["*"], _SUBSCRIBED, ["phone_number_request.assigned"]):
        world.webhook("usr_hook_lister", events)
    return lambda i: _http(world, "GET", "/webhooks", measured("usr_hook_lister", "hook_lister", i), 200)


def get_webhook(world: World, n: int) -> StepFn:
    path = f"/webhooks/{world.webhook('usr_hook_reader')['webhook_id']}"
    return lambda i: _http(world, "GET", path, measured("usr_hook_reader", "hook_reader", i), 200)


def update_webhook(world: World, n: int) -> StepFn:
    """Each call changes the events and the description of one webhook (the URL kept: it would be checked again)."""
    path = f"/webhooks/{world.webhook('usr_hook_editor')['webhook_id']}"
    return lambda i: _http(
        world,
        "PATCH",
        path,
        measured("usr_hook_editor", "hook_editor", i),
        200,
        body={"events": _SUBSCRIBED[: 1 + i % len(_SUBSCRIBED)], "description": f"CRM sync {i}"},
    )


def delete_webhook(world: World, n: int) -> StepFn:
    owners = [f"usr_hook_deleter_{i // 10}" for i in range(n)]
    ids = [world.webhook(owner)["webhook_id"] for owner in owners]
    return lambda i: _http(world, "DELETE", f"/webhooks/{ids[i]}", user(owners[i]), 200)


def rotate_webhook_secret(world: World, n: int) -> StepFn:
    path = f"/webhooks/{world.webhook('usr_hook_rotator')['webhook_id']}/rotate-secret"
    return lambda i: _http(world, "POST", path, measured("usr_hook_rotator", "hook_rotator", i), 200)


def test_webhook(world: World, n: int) -> StepFn:
    path = f"/webhooks/{world.webhook('usr_hook_tester')['webhook_id']}/test"
    return lambda i: _http(world, "POST", path, measured("usr_hook_tester", "hook_tester", i), 200)


def list_webhook_deliveries(world: World, n: int) -> StepFn:
    """A webhook whose log holds three test events, each fanned out and delivered by the real functions."""
    webhook_id = world.webhook("usr_log_reader")["webhook_id"]
    for _ in range(3):
        world.delivery("usr_log_reader", webhook_id)
    path = f"/webhooks/{webhook_id}/deliveries"
    return lambda i: _http(world, "GET", path, measured("usr_log_reader", "log_reader", i), 200)


def redeliver_webhook_delivery(world: World, n: int) -> StepFn:
    """Each call sends one delivered event again (its event still kept): a new attempt recorded and queued."""
    webhook_id = world.webhook("usr_redeliverer")["webhook_id"]
    path = f"/webhooks/{webhook_id}/deliveries/{world.delivery('usr_redeliverer', webhook_id)}/redeliver"
    return lambda i: _http(world, "POST", path, measured("usr_redeliverer", "redeliverer", i), 200)


def _subscriber(world: World, tag: str, i: int) -> tuple[Principal, dict[str, Any]]:
    """A user with an outbound number and one webhook on the receiver wanting every event; a new one every 90
    calls (100 calls an hour a user)."""
    key = f"subscriber_{tag}_{i // 90}"
    if key not in world.shared:
        user_id = f"usr_{tag}_{i // 90}"
        world.register(user_id)
        world.shared[key] = (user(user_id), world.webhook(user_id))
    found: tuple[Principal, dict[str, Any]] = world.shared[key]
    return found


def _ended(world: World, principal: Principal) -> Any:
    """The outbox record of the `call.ended` event of a call placed and hung up now (untimed)."""
    call_id = world.ended_call(principal)
    return world.outbox_record(principal.user_id, lambda e: e.type == "call.ended" and e.data["call_id"] == call_id)


def _batch_done(answer: Any) -> bool:
    return bool(answer == NO_FAILURES)


def dispatch_events(world: World, n: int) -> StepFn:
    """Each call is the outbox's stream handing over the `call.ended` event of a call hung up just before it
    (untimed), whose owner has a webhook wanting it: one attempt recorded and queued."""

    def step(i: int) -> Step:
        principal, _ = _subscriber(world, "dispatchee", i)
        return Step(Invocation(DISPATCHER, {"Records": [_ended(world, principal)]}), None, _batch_done)

    return step


def deliver_webhook(world: World, n: int) -> StepFn:
    """Each call is the delivery queue handing over the first attempt of a `call.ended` event (the call hung up and
    the event fanned out by the real dispatcher just before, untimed): signed, sent to the receiver on loopback, which
    answers 200 at once, and recorded. Verified: the receiver got that event, signed with the webhook's secret."""

    def step(i: int) -> Step:
        from telephony.repositories.events import from_image

        principal, webhook = _subscriber(world, "deliveree", i)
        record = _ended(world, principal)
        message = world.dispatch(record, webhook["webhook_id"])
        event_id = from_image(record["dynamodb"]["NewImage"]).event_id
        return Step(
            Invocation(DELIVERER, {"Records": [message]}),
            None,
            lambda answer: _batch_done(answer) and world.received(event_id, webhook["secret"]),
        )

    return step


# ---------------------------------------------------------------- do-not-call lists, limits and settings


def _admin_principal(tag: str, i: int) -> Principal:
    return Principal(f"usr_{tag}", "admin", f"ak_{tag}_{i // 900}")


def _dnc_path(admin_list: bool, e164: str = "") -> str:
    base = "/admin/dnc" if admin_list else "/dnc"
    return f"{base}/{e164}" if e164 else base


def _listed(world: World, admin_list: bool, user_id: str, n: int) -> list[str]:
    """`n` numbers put on a list (untimed): the operator's, or `user_id`'s own."""
    numbers = [world.numbers.take() for _ in range(n)]
    principal = world.setup_admin() if admin_list else world.setup_principal(user_id)
    for start in range(0, n, 1000):
        body = {"numbers": numbers[start : start + 1000], "reason": "asked not to be called"}
        world.request("POST", _dnc_path(admin_list), principal, body)
    return numbers


def _dnc_add(admin_list: bool, tag: str) -> Callable[[World, int], StepFn]:
    """Each call lists a new number (the number parsed to E.164 and written with its reason)."""

    def build(world: World, n: int) -> StepFn:
        def step(i: int) -> Step:
            who = _admin_principal(tag, i) if admin_list else measured(f"usr_{tag}", tag, i)
            body = {"numbers": [world.numbers.take()], "reason": "asked not to be called"}
            return _http(world, "POST", _dnc_path(admin_list), who, 200, body=body)

        return step

    return build


def _dnc_get(admin_list: bool, tag: str) -> Callable[[World, int], StepFn]:
    def build(world: World, n: int) -> StepFn:
        e164 = _listed(world, admin_list, f"usr_{tag}", 1)[0]

        def step(i: int) -> Step:
            who = _admin_principal(tag, i) if admin_list else measured(f"usr_{tag}", tag, i)
            return _http(world, "GET", _dnc_path(admin_list, e164), who, 200)

        return step

    return build


def _dnc_delete(admin_list: bool, tag: str) -> Callable[[World, int], StepFn]:
    """Each call takes off a number listed before the run (untimed)."""

    def build(world: World, n: int) -> StepFn:
        numbers = _listed(world, admin_list, f"usr_{tag}", n)

        def step(i: int) -> Step:
            who = _admin_principal(tag, i) if admin_list else measured(f"usr_{tag}", tag, i)
            return _http(world, "DELETE", _dnc_path(admin_list, numbers[i]), who, 200)

        return step

    return build


def admin_get_account_limits(world: World, n: int) -> StepFn:
    world.api_key("usr_limited")
    path = "/admin/accounts/usr_limited/limits"
    return lambda i: _http(world, "GET", path, _admin_principal("limits_reader", i), 200)


def admin_set_account_limits(world: World, n: int) -> StepFn:
    """Each call sets another user's calls an hour (a new user every 10 calls)."""
    path = "/admin/accounts/usr_limited_{}/limits"
    return lambda i: _http(
        world, "PUT", path.format(i // 10), _admin_principal("limits_setter", i), 200, body={"calls_per_hour": 500 + i}
    )


def update_account_settings(world: World, n: int) -> StepFn:
    """Each call changes the calling hours' window (enforced, so a later call is checked against it)."""

    def step(i: int) -> Step:
        hours = {"start": f"{8 + i % 2:02d}:00", "end": "20:00", "enforce": True}
        principal = measured("usr_hours", "hours", i)
        return _http(world, "PUT", "/account/settings", principal, 200, body={"calling_hours": hours})

    return step


def sweep_live_calls(world: World, n: int) -> StepFn:
    """The minute's sweep over the accounts holding live calls: one call talking for the horizon is live (placed before,
    untimed), so the sweep reads that account's live calls, their items, and asks LiveKit which rooms exist."""
    world.call(TRANSFER_CALLEE)

    def swept(answer: Any) -> bool:
        return isinstance(answer, dict) and {"calls_ended", "legs_released", "ids_repaired"} <= set(answer)

    return lambda i: Step(world.events.scheduled(SWEEPER), None, swept)


# ---------------------------------------------------------------- campaigns
# Starting, resuming or cancelling a campaign starts a Step Functions execution of the campaign engine; the
# benchmark's moto records executions without running them (MOTO_CONFIG in bench/world.py, as the cold-start
# children's), so no campaign dials during the measurements but the engine step's own scenario.


def _contacts(numbers: list[str]) -> list[dict[str, Any]]:
    return [
        {"phone_number": e164, "variables": {"first_name": f"Ada {k}"}, "metadata": {"crm_id": f"lead-{k}"}}
        for k, e164 in enumerate(numbers)
    ]


def _campaign_body(number_id: str, contacts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A campaign with the fields commonly given: the calls' setup, the contacts with their variables, a weekday
    calling window in each callee's local time, retries of the busy and unanswered."""
    return {
        "name": "spring renewals",
        "from_phone_number_id": number_id,
        "contacts": contacts,
        "system_prompt": "You are a helpful support agent. Be brief.",
        "welcome_message": "Hi, this is Acme support.",
        "metadata": {"source": "bench"},
        "max_concurrency": 5,
        "calling_window": {"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
        "retry": {"on": ["busy", "no_answer"], "max_attempts": 2, "delay_seconds": 600},
        **extra,
    }


def _campaigner(world: World, user_id: str) -> str:
    """A user with an outbound number (registered once per world): the number's phone_number_id."""
    key = f"campaigner_{user_id}"
    if key not in world.shared:
        world.shared[key] = world.register(user_id)["phone_number_id"]
    number_id: str = world.shared[key]
    return number_id


def _campaign_contacts(world: World, count: int) -> list[dict[str, Any]]:
    """`count` contacts of distinct numbers, the same for every campaign of the world that is never dialled."""
    key = f"campaign_contacts_{count}"
    if key not in world.shared:
        world.shared[key] = _contacts([world.numbers.take() for _ in range(count)])
    contacts: list[dict[str, Any]] = world.shared[key]
    return contacts


def _draft(world: World, user_id: str, contacts: int = 10, **extra: Any) -> str:
    """A campaign of `contacts` contacts made by its owner (untimed): its id. Reading a campaign, starting, pausing,
    resuming and cancelling it touch none of its contacts, so a few will do: every cold start's child loads all the
    world's items (bench/cold_child.py)."""
    body = _campaign_body(_campaigner(world, user_id), _campaign_contacts(world, contacts), **extra)
    created = world.request("POST", "/campaigns", world.setup_principal(user_id), body, expect=201)
    return str(created["campaign_id"])


def _campaign_action(world: World, user_id: str, campaign_id: str, action: str) -> None:
    world.request("POST", f"/campaigns/{campaign_id}/{action}", world.setup_principal(user_id))


def _now_status(status: str) -> Callable[[Any], bool]:
    """The campaign the answer shows is in this status."""
    return lambda answer: json.loads(answer.get("body") or "{}").get("status") == status


def create_campaign(world: World, n: int) -> StepFn:
    """Each call creates a campaign of 100 contacts (numbers parsed to E.164, checked, written in one go)."""
    number_id = _campaigner(world, "usr_campaign_maker")
    body = _campaign_body(number_id, _campaign_contacts(world, 100))
    return lambda i: _http(
        world, "POST", "/campaigns", measured("usr_campaign_maker", "campaign_maker", i), 201, body=body
    )


def get_campaign(world: World, n: int) -> StepFn:
    path = f"/campaigns/{_draft(world, 'usr_campaign_reader')}"
    return lambda i: _http(world, "GET", path, measured("usr_campaign_reader", "campaign_reader", i), 200)


def list_campaign_contacts(world: World, n: int) -> StepFn:
    """The first page (50) of a campaign's 100 contacts."""
    path = f"/campaigns/{_draft(world, 'usr_contact_lister', contacts=100)}/contacts"
    return lambda i: _http(world, "GET", path, measured("usr_contact_lister", "contact_lister", i), 200)


def add_campaign_contacts(world: World, n: int) -> StepFn:
    """Each call adds 25 new contacts to a draft campaign (a new campaign every 100 calls: one takes contacts from
    1,000 requests at most)."""

    def step(i: int) -> Step:
        key = f"contacts_target_{i // 100}"
        if key not in world.shared:
            world.shared[key] = _draft(world, "usr_contact_adder")
        path = f"/campaigns/{world.shared[key]}/contacts"
        principal = measured("usr_contact_adder", "contact_adder", i)
        body = {"contacts": _contacts([world.numbers.take() for _ in range(25)])}
        return _http(world, "POST", path, principal, 200, body=body)

    return step


def _tomorrow() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")


def start_campaign(world: World, n: int) -> StepFn:
    """Each call starts a draft campaign of its own (made just before, untimed), scheduled to begin tomorrow: the
    engine's execution started, the campaign `scheduled`."""

    def step(i: int) -> Step:
        campaign_id = _draft(world, "usr_campaign_starter", schedule={"start_at": _tomorrow()})
        principal = measured("usr_campaign_starter", "campaign_starter", i)
        call = _http(world, "POST", f"/campaigns/{campaign_id}/start", principal, 200)
        return Step(call.invocation, call.expect, _now_status("scheduled"))

    return step


def _transition(tag: str, action: str, before: list[str], after: str) -> Callable[[World, int], StepFn]:
    """Each call `action`s a campaign of its own, taken through the `before` actions just before (untimed)."""

    def build(world: World, n: int) -> StepFn:
        owner = f"usr_{tag}"

        def step(i: int) -> Step:
            campaign_id = _draft(world, owner)
            for done in before:
                _campaign_action(world, owner, campaign_id, done)
            call = _http(world, "POST", f"/campaigns/{campaign_id}/{action}", measured(owner, tag, i), 200)
            return Step(call.invocation, call.expect, _now_status(after))

        return step

    return build


def campaign_tick(world: World, n: int) -> StepFn:
    """Each call is the first step of a campaign's run (a campaign of 10 contacts, 5 at once, started just before,
    untimed): the engine claims 5 contacts and places their calls, each as create-call places one. The callees ring
    for an hour. Verified: LiveKit was asked to dial those 5 (the emulator's record, which a cold start's child
    dials too)."""

    def step(i: int) -> Step:
        from telephony.repositories.store import default_store

        principal = world.caller(reserve=5)  # 5 of its 100 calls an hour; its account may hold them all live
        numbers = [world.numbers.take() for _ in range(10)]
        for e164 in numbers:
            world.emulator.set_outcome(e164, "answer", after_ms=3_600_000)
        body = _campaign_body(world.caller_number(principal), _contacts(numbers), calling_window=None, retry=None)
        owner = principal.user_id
        created = world.request("POST", "/campaigns", world.setup_principal(owner), body, expect=201)
        campaign_id = created["campaign_id"]
        _campaign_action(world, owner, campaign_id, "start")
        campaign = default_store().campaigns.get(campaign_id)
        if campaign is None or campaign.run is None:
            raise Failure(f"the campaign {campaign_id} was started without a run")
        task = {"campaign_id": campaign_id, "run": campaign.run, "generation": 0, "ticks": 0}

        def dialled(answer: Any) -> bool:
            called = {c.get("sip_call_to") for c in world.emulator.state()["calls"]}
            return answer.get("action") == "wait" and len(called & set(numbers)) == 5

        return Step(Invocation("CampaignTickFunction", task), None, dialled)

    return step


# ---------------------------------------------------------------- recordings


def get_call_recording(world: World, n: int) -> StepFn:
    """A recording made of an answered call and ready (the call hung up, the file uploaded): a link to its file."""
    principal, call_id = world.ready_recordings(1)[0]
    path = f"/outbound-calls/{call_id}/recording"
    return lambda i: _http(world, "GET", path, measured(principal.user_id, "recording_reader", i), 200)


def delete_call_recording(world: World, n: int) -> StepFn:
    """Each call deletes the ready recording of a call of its own (placed, answered and hung up before, untimed):
    its file removed from the bucket, the recording marked deleted."""
    placed = world.ready_recordings(n)
    return lambda i: _http(world, "DELETE", f"/outbound-calls/{placed[i][1]}/recording", placed[i][0], 204)


def reconcile_recordings(world: World, n: int) -> StepFn:
    """The schedule's pass over the recordings being made: three calls talking for an hour are being recorded (placed
    before, untimed), so it reads their marks and their calls, and leaves them to their egress's webhooks. (Its other
    work, asking LiveKit about a recording whose end was not told 10 minutes after its call ended, needs a call
    ended that long ago: not within a benchmark's run.)"""
    world.recorded_calls(3)

    def reconciled(answer: Any) -> bool:
        return isinstance(answer, dict) and {"settled", "still_going", "unmarked"} <= set(answer)

    return lambda i: Step(world.events.scheduled("ReconcileRecordingsFunction"), None, reconciled)


# ---------------------------------------------------------------- the authorizer


def _authorized(user_id: str) -> Callable[[Any], bool]:
    return lambda answer: bool(answer.get("isAuthorized")) and (answer.get("context") or {}).get("user_id") == user_id


def authorizer_api_key(world: World, n: int) -> StepFn:
    key = world.api_key("usr_authorized")["api_key"]
    invocation = world.events.authorizer(f"Bearer {key}")
    return lambda i: Step(invocation, None, _authorized("usr_authorized"))


def authorizer_jwt(world: World, n: int) -> StepFn:
    token = world.issuer.mint("usr_jwt_holder")
    invocation = world.events.authorizer(f"Bearer {token}")
    return lambda i: Step(invocation, None, _authorized("usr_jwt_holder"))


# ---------------------------------------------------------------- workflow tasks


def await_review(world: World, n: int) -> StepFn:
    ids = _pending_requests(world, n, "awaiter", numbered=True)
    return lambda i: Step(
        Invocation("AwaitReviewFunction", {"request_id": ids[i], "task_token": f"bench-token-{i}"}), None
    )


def assign_number(world: World, n: int) -> StepFn:
    decided = []
    for i in range(n):
        e164 = world.numbers.take()
        request_id = world.number_request(f"usr_assignee_{i // 5}", e164)["request_id"]
        world.approve(request_id)
        decided.append((request_id, e164))
    return lambda i: Step(
        Invocation(
            "AssignNumberFunction",
            {"request_id": decided[i][0], "decision": {"phone_number": decided[i][1], "provider": "twilio"}},
        ),
        None,
    )


def expire_request(world: World, n: int) -> StepFn:
    ids = _pending_requests(world, n, "expiree", numbered=True)
    return lambda i: Step(Invocation("ExpireRequestFunction", {"request_id": ids[i]}), None)


def record_request_failure(world: World, n: int) -> StepFn:
    ids = _pending_requests(world, n, "failee", numbered=True)
    error = {"Error": "States.TaskFailed", "Cause": "the carrier refused the number"}
    return lambda i: Step(Invocation("RecordRequestFailureFunction", {"request_id": ids[i], "error": error}), None)


SCENARIOS: list[Scenario] = [
    Scenario("authorizer (API key)", "AuthorizerFunction", authorizer_api_key),
    Scenario("authorizer (JWT)", "AuthorizerFunction", authorizer_jwt, cold=False),
    Scenario("POST /api-keys", "CreateApiKeyFunction", create_api_key),
    Scenario("GET /api-keys", "ListApiKeysFunction", list_api_keys),
    Scenario("DELETE /api-keys/{key_id}", "RevokeApiKeyFunction", revoke_api_key),
    Scenario("GET /admin/api-keys", "AdminListApiKeysFunction", admin_list_api_keys),
    Scenario("DELETE /admin/api-keys/{key_id}", "AdminRevokeApiKeyFunction", admin_revoke_api_key),
    Scenario("POST /telephony/phone-number-requests", "CreatePhoneNumberRequestFunction", create_phone_number_request),
    Scenario(
        "GET /telephony/phone-number-requests/{request_id}", "GetPhoneNumberRequestFunction", get_phone_number_request
    ),
    Scenario("GET /telephony/phone-number-requests", "ListPhoneNumberRequestsFunction", list_phone_number_requests),
    Scenario("GET /admin/phone-number-requests", "ListReviewQueueFunction", list_review_queue),
    Scenario(
        "POST /admin/phone-number-requests/{request_id}/approve",
        "ApprovePhoneNumberRequestFunction",
        approve_phone_number_request,
    ),
    Scenario(
        "POST /admin/phone-number-requests/{request_id}/reject",
        "RejectPhoneNumberRequestFunction",
        reject_phone_number_request,
    ),
    Scenario("GET /outbound-calls/phone-numbers", "ListPhoneNumbersFunction", list_phone_numbers),
    Scenario(
        "POST /outbound-calls/phone-numbers/{phone_number_id}/configure",
        "ConfigurePhoneNumberFunction",
        configure_phone_number,
    ),
    Scenario(
        "GET /outbound-calls/phone-numbers/{phone_number_id}/configuration",
        "GetPhoneNumberConfigurationFunction",
        get_phone_number_configuration,
    ),
    Scenario(
        "DELETE /outbound-calls/phone-numbers/{phone_number_id}/configuration",
        "DeletePhoneNumberConfigurationFunction",
        delete_phone_number_configuration,
    ),
    Scenario("POST /agents/{agent_id}/phone-numbers", "RegisterAgentPhoneNumberFunction", register_agent_phone_number),
    Scenario("GET /agents/{agent_id}/phone-numbers", "ListAgentPhoneNumbersFunction", list_agent_phone_numbers),
    Scenario(
        "DELETE /agents/{agent_id}/phone-numbers/{phone_number_id}",
        "UnregisterAgentPhoneNumberFunction",
        unregister_agent_phone_number,
    ),
    Scenario("POST /outbound-calls/create", "CreateCallFunction", create_call, cold=False),
    Scenario("POST /outbound-calls/create (Idempotency-Key)", "CreateCallFunction", create_call_idempotent),
    Scenario("GET /outbound-calls", "ListCallsFunction", list_calls),
    Scenario("GET /outbound-calls/{call_id}/details", "GetCallDetailsFunction", get_call_details),
    Scenario("POST /outbound-calls/{call_id}/hangup", "HangupCallFunction", hangup_call),
    Scenario("POST /outbound-calls/{call_id}/transfer", "TransferCallFunction", transfer_call),
    Scenario("POST /outbound-calls/{call_id}/events", "PostCallEventsFunction", post_call_events),
    Scenario("GET /outbound-calls/stats", "GetCallStatsFunction", get_call_stats),
    Scenario("POST /livekit/webhook", "LivekitWebhookFunction", livekit_webhook),
    Scenario("POST /webhooks", "CreateWebhookFunction", create_webhook),
    Scenario("GET /webhooks", "ListWebhooksFunction", list_webhooks),
    Scenario("GET /webhooks/{webhook_id}", "GetWebhookFunction", get_webhook),
    Scenario("PATCH /webhooks/{webhook_id}", "UpdateWebhookFunction", update_webhook),
    Scenario("DELETE /webhooks/{webhook_id}", "DeleteWebhookFunction", delete_webhook),
    Scenario("POST /webhooks/{webhook_id}/rotate-secret", "RotateWebhookSecretFunction", rotate_webhook_secret),
    Scenario("POST /webhooks/{webhook_id}/test", "TestWebhookFunction", test_webhook),
    Scenario("GET /webhooks/{webhook_id}/deliveries", "ListWebhookDeliveriesFunction", list_webhook_deliveries),
    Scenario(
        "POST /webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        "RedeliverWebhookDeliveryFunction",
        redeliver_webhook_delivery,
    ),
    Scenario("task AwaitReview", "AwaitReviewFunction", await_review, warm=False),
    Scenario("task AssignNumber", "AssignNumberFunction", assign_number, warm=False),
    Scenario("task ExpireRequest", "ExpireRequestFunction", expire_request, warm=False),
    Scenario("task RecordRequestFailure", "RecordRequestFailureFunction", record_request_failure, warm=False),
    Scenario("stream DispatchEvents", DISPATCHER, dispatch_events, warm=False),
    Scenario("queue DeliverWebhook", DELIVERER, deliver_webhook, warm=False),
    Scenario("POST /dnc", "AddDncNumbersFunction", _dnc_add(False, "dnc_adder")),
    Scenario("GET /dnc/{phone_number}", "GetDncNumberFunction", _dnc_get(False, "dnc_reader")),
    Scenario("DELETE /dnc/{phone_number}", "DeleteDncNumberFunction", _dnc_delete(False, "dnc_remover")),
    Scenario("POST /admin/dnc", "AdminAddDncNumbersFunction", _dnc_add(True, "dnc_admin_adder")),
    Scenario("GET /admin/dnc/{phone_number}", "AdminGetDncNumberFunction", _dnc_get(True, "dnc_admin_reader")),
    Scenario("DELETE /admin/dnc/{phone_number}", "AdminDeleteDncNumberFunction", _dnc_delete(True, "dnc_admin_rm")),
    Scenario("GET /admin/accounts/{user_id}/limits", "AdminGetAccountLimitsFunction", admin_get_account_limits),
    Scenario("PUT /admin/accounts/{user_id}/limits", "AdminSetAccountLimitsFunction", admin_set_account_limits),
    Scenario("PUT /account/settings", "UpdateAccountSettingsFunction", update_account_settings),
    Scenario("schedule SweepLiveCalls", SWEEPER, sweep_live_calls, warm=False),
    Scenario("POST /campaigns", "CreateCampaignFunction", create_campaign),
    Scenario("GET /campaigns/{campaign_id}", "GetCampaignFunction", get_campaign),
    Scenario("GET /campaigns/{campaign_id}/contacts", "ListCampaignContactsFunction", list_campaign_contacts),
    Scenario("POST /campaigns/{campaign_id}/contacts", "AddCampaignContactsFunction", add_campaign_contacts),
    Scenario("POST /campaigns/{campaign_id}/start", "StartCampaignFunction", start_campaign),
    Scenario(
        "POST /campaigns/{campaign_id}/pause",
        "PauseCampaignFunction",
        _transition("campaign_pauser", "pause", ["start"], "paused"),
    ),
    Scenario(
        "POST /campaigns/{campaign_id}/resume",
        "ResumeCampaignFunction",
        _transition("campaign_resumer", "resume", ["start", "pause"], "running"),
    ),
    Scenario(
        "POST /campaigns/{campaign_id}/cancel",
        "CancelCampaignFunction",
        _transition("campaign_canceler", "cancel", ["start"], "canceled"),
    ),
    Scenario("task CampaignTick", "CampaignTickFunction", campaign_tick, warm=False),
    Scenario("GET /outbound-calls/{call_id}/recording", "GetCallRecordingFunction", get_call_recording),
    Scenario("DELETE /outbound-calls/{call_id}/recording", "DeleteCallRecordingFunction", delete_call_recording),
    Scenario("schedule ReconcileRecordings", "ReconcileRecordingsFunction", reconcile_recordings, warm=False),
]


# Functions measured by no scenario on purpose, and why (the report says it).
UNMEASURED = {
    "SummarizeCallFunction": "its work is a call to Amazon Bedrock's Converse API, which neither moto (its "
    "bedrock-runtime answers InvokeModel only) nor the local stack has: a measured call would time a stand-in for "
    "Bedrock inside the function's process, and the paths that never ask Bedrock (a call with a summary already, "
    "or without a transcript) are not its work. The template deploys it only with `SummaryModelId` set, which the "
    "benchmark leaves empty (the default), so that the LiveKit webhook's figures stay those of a stack without "
    "summaries",
}


def _generic(info: FunctionInfo) -> Scenario | None:
    """A function added after these scenarios were written: a GET without path parameters still gets measured."""
    if info.kind != HTTP:
        return None
    method, path = info.routes[0]
    if method != "GET" or "{" in path:
        return None

    def build(world: World, n: int) -> StepFn:
        public = world.runtime.functions[info.logical_id].routes[0][2]
        if public:
            return lambda i: _http(world, "GET", path, None, 200)
        if path.startswith("/admin/"):
            return lambda i: _http(world, "GET", path, _admin_principal(info.folder, i), 200)
        return lambda i: _http(world, "GET", path, measured("usr_generic", info.folder, i), 200)

    return Scenario(f"{method} {path}", info.logical_id, build)


def for_functions(functions: list[FunctionInfo]) -> tuple[list[Scenario], list[FunctionInfo]]:
    """The scenarios of the template's functions (generic ones for new GET routes), and the functions left without."""
    known = {s.function for s in SCENARIOS}
    present = {f.logical_id for f in functions}
    scenarios = [s for s in SCENARIOS if s.function in present]
    missing = []
    for info in functions:
        if info.logical_id in known:
            continue
        generic = _generic(info)
        if generic is None:
            missing.append(info)
        else:
            scenarios.append(generic)
    return scenarios, missing


def unmeasured(missing: list[FunctionInfo], left_out: list[str]) -> dict[str, str]:
    """Why each function of the template has no figures: the reason given in UNMEASURED, else what the run saw."""
    why = {f.logical_id: "no scenario in bench/scenarios.py" for f in missing}
    why.update({f: "not deployed with the benchmark's template parameters" for f in left_out})
    return {function: UNMEASURED.get(function, reason) for function, reason in sorted(why.items())}
