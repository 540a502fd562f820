"""The lives section 7 prices, driven through the real handlers of the bench's world (bench/world.py) while
bench/cost_meter.py counts what they use.

A call's life: a customer's key creates a recorded call (`"record": true`, with the Idempotency-Key the project's
client sends), the emulator rings and answers it (LiveKit's webhooks through the gateway), the agent's key posts the
transcript twice while it talks (the second time with the summary), the callee hangs up, LiveKit's egress puts the
recording into the bucket and says so, then the customer reads the call's details and the stats; every event of the
call is fanned out by the outbox's stream to the customer's one webhook (wanting every event) and delivered to it.
Apart: the customer fetching the recording once.

A number's life: its owner requests it, the review workflow's first task stores its task token, an admin approves it
(SendTaskSuccess), the workflow's assignment task gives it to the owner, the owner configures it in LiveKit (trunks
and a dispatch rule, its SIP password kept in Secrets Manager); its events are delivered as a call's are.

The workflow and the event sources are not run by moto here: the bench invokes each task and each batch as Step
Functions and Lambda's event source mappings would (one stream record a batch, one message a batch, as at low
traffic), and counts the workflow's state transitions from its definition.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from bench.cost_meter import Meter
from bench.events import Invocation
from bench.world import DELIVERER, DISPATCHER, NO_FAILURES, Failure, World, agent_of, configure_body

TALK_MS = 3000  # the callee talks this long after answering, then hangs up
ANSWER_MS = 200
TRANSCRIPTS = [
    {
        "transcript": [
            {"role": "agent", "text": "Hi, this is Acme support. How can I help?"},
            {"role": "user", "text": "Hello, I would like to move my appointment to Friday."},
        ]
    },
    {
        "transcript": [
            {"role": "agent", "text": "Friday at 10 works. Shall I book it?"},
            {"role": "user", "text": "Yes please, thank you."},
        ],
        "summary": "The caller moved their appointment to Friday at 10.",
    },
]
FANOUT = "webhook fan-out (DispatchEventsFunction, one stream record a batch)"
DELIVERY = "webhook delivery (DeliverWebhookFunction, one message a batch)"
POLLER = "SQS requests of Lambda's poller (ReceiveMessage, DeleteMessage)"


@dataclass
class Customer:
    user_id: str
    key: str  # an API key of the user's, as its servers use it
    agent_key: str  # its agent's key (role agent)
    webhook_id: str
    secret: str


def customer(world: World, tag: str) -> Customer:
    """A user with an outbound number, an API key, an agent key and one webhook wanting every event (setup, not
    counted)."""
    user_id = f"usr_cost_{tag}"
    world.register(user_id)
    webhook = world.webhook(user_id)
    key = world.api_key(user_id)["api_key"]
    body = {"name": "agent", "role": "agent"}
    agent_key = world.request("POST", "/api-keys", world.setup_principal(user_id), body, expect=201)["api_key"]
    return Customer(user_id, key, agent_key, webhook["webhook_id"], webhook["secret"])


def api(
    world: World, method: str, path: str, bearer: str, body: Any = None, *, expect: int = 200, **headers: str
) -> Any:
    """One request through the world's gateway (routes, authorizer and its cache from the template), as a client
    on the internet sends it."""
    sent = {"host": "api.example.com", "user-agent": "telephony-client/1.0", "authorization": f"Bearer {bearer}"}
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        sent["content-type"] = "application/json"
    status, _, answer = world.gateway.handle(method, path, sent, data)
    if status != expect:
        raise Failure(f"{method} {path}: expected {expect}, got {status}: {answer[:300]!r}")
    return json.loads(answer) if answer else None


def call_life(world: World, meter: Meter, who: Customer, callee: str) -> str:
    """One call's whole life (the module's docstring); its id."""
    world.gateway._cache.clear()  # each life's keys authorized once, as keys unused for the cache's TTL are
    body = {"phone_number": callee, "system_prompt": "Be brief", "welcome_message": "Hi!", "record": True}
    with meter.step("create (POST /outbound-calls/create)"):
        call_id = str(
            api(world, "POST", "/outbound-calls/create", who.key, body, expect=201, idempotency_key=str(uuid.uuid4()))[
                "call_id"
            ]
        )
    world.wait_calls([call_id], "in_progress", timeout=30)
    for transcript in TRANSCRIPTS:
        with meter.step("events posts (POST /outbound-calls/{id}/events, agent key)"):
            api(world, "POST", f"/outbound-calls/{call_id}/events", who.agent_key, transcript)
    world.wait_calls([call_id], "completed", timeout=30)
    world.wait_recordings([call_id], "ready", timeout=60)
    with meter.step("details read (GET /outbound-calls/{id}/details)"):
        api(world, "GET", f"/outbound-calls/{call_id}/details", who.key)
    with meter.step("stats read (GET /outbound-calls/stats)"):
        api(world, "GET", "/outbound-calls/stats", who.key)
    if not world.emulator.flush_webhooks(timeout=30):
        raise Failure("the emulator's webhooks were not all delivered")
    deliver_events(world, meter, who)
    return call_id


def deliver_events(world: World, meter: Meter, who: Customer) -> int:
    """Every new event of the customer's fanned out and delivered by the real functions; how many were delivered."""

    def mine(record: dict[str, Any]) -> bool:
        image = record["dynamodb"].get("NewImage") or {}
        return record["eventName"] == "INSERT" and image.get("owner_id") == {"S": who.user_id}

    from telephony.repositories.events import from_image

    delivered = 0
    for record in world.events.streamed(DISPATCHER, mine):
        event_id = from_image(record["dynamodb"]["NewImage"]).event_id
        with meter.step(FANOUT):
            if world.invoke(Invocation(DISPATCHER, {"Records": [record]})) != NO_FAILURES:
                raise Failure(f"{DISPATCHER} did not handle {record['eventID']}")
        for message in world.events.queued(DELIVERER, lambda m: json.loads(m["body"])["webhook_id"] == who.webhook_id):
            with meter.step(DELIVERY):
                if world.invoke(Invocation(DELIVERER, {"Records": [message]})) != NO_FAILURES:
                    raise Failure(f"{DELIVERER} did not deliver {message['messageId']}")
            step = meter.ledger.step(POLLER)
            step.usage.add("sqs.requests", 2)  # the poller's receive and its delete of the message, one batch each
            step.counts["SQS requests"] += 2
            delivered += 1
        if not world.received(event_id, who.secret):
            raise Failure(f"the customer's endpoint was not sent {event_id}, signed with its webhook's secret")
    return delivered


def fetch_recording(world: World, meter: Meter, who: Customer, call_id: str, size: int) -> None:
    """The customer asks for the recording's link, then downloads the file from S3 with it (one GET, the file's
    bytes out to the internet)."""
    from bench.cost import GB

    world.gateway._cache.clear()
    with meter.step("recording link (GET /outbound-calls/{id}/recording)"):
        answer = api(world, "GET", f"/outbound-calls/{call_id}/recording", who.key)
    if not answer.get("url"):
        raise Failure(f"no link to the recording of {call_id}: {answer}")
    step = meter.ledger.step("recording download (S3 GET with the presigned link)")
    step.usage.add("s3.get_requests", 1)
    step.usage.add("transfer.out", size / GB)
    step.counts["S3 GET requests"] += 1
    step.counts["bytes out"] += size


def number_life(world: World, meter: Meter, who: Customer, admin_token: str, index: int, transitions: int) -> None:
    """One number's life (the module's docstring), `transitions` being the review workflow's on its approval path."""
    world.gateway._cache.clear()
    e164 = world.numbers.take()
    with meter.step("request (POST /telephony/phone-number-requests)"):
        answer = api(world, "POST", "/telephony/phone-number-requests", who.key, {"phone_number": e164}, expect=201)
    request_id = answer["request_id"]
    with meter.step("review task (AwaitReviewFunction: the workflow stores its task token)"):
        world.invoke(Invocation("AwaitReviewFunction", {"request_id": request_id, "task_token": f"tok-{request_id}"}))
    with meter.step("approval (POST /admin/phone-number-requests/{id}/approve, admin)"):
        api(world, "POST", f"/admin/phone-number-requests/{request_id}/approve", admin_token, {"note": "ok"})
    with meter.step("assignment task (AssignNumberFunction)"):
        task = {"request_id": request_id, "decision": {"phone_number": e164}}
        assigned = world.invoke(Invocation("AssignNumberFunction", task))
    step = meter.ledger.step("review workflow (Step Functions, Standard)")
    step.usage.add("sfn.transitions", transitions)
    step.counts["state transitions"] += transitions
    path = f"/outbound-calls/phone-numbers/{assigned['phone_number_id']}/configure"
    with meter.step("configure (POST /outbound-calls/phone-numbers/{id}/configure)"):
        api(world, "POST", path, who.key, configure_body(e164, index, agent_of(who.user_id)))
    if not world.emulator.flush_webhooks(timeout=30):
        raise Failure("the emulator's webhooks were not all delivered")
    deliver_events(world, meter, who)


def idle_run(world: World, meter: Meter, function: str, label: str) -> None:
    """One run of a scheduled function, fired as its schedule fires it."""
    with meter.step(label):
        answer = world.invoke(world.events.scheduled(function))
    if not isinstance(answer, dict):
        raise Failure(f"{function}: {answer!r:.300}")
