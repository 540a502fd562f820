"""The product in this process: template.yaml deployed into an in-process moto (`local.stack.prepare`,
as tests/conftest.py does), the real handlers, the LiveKit emulator, a dev OIDC issuer and a webhook
receiver on loopback, plus the fixtures the scenarios need (numbers, registrations, calls and their
recordings, webhooks and their deliveries), all made through the real handlers.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from bench.events import EventFactory, Invocation, Principal, Record, user

HOST = "127.0.0.1"
CALLEE = "+14155550199"  # answered by the emulator after 200 ms, then talks until hung up
SLOW_CALLEE = "+14155550198"  # rings for an hour: its calls stay `ringing`
TRANSFER_CALLEE = "+14155550197"  # answered at once, talks for the horizon: calls to it get `in_progress`
TRANSFER_TO = "+15105550100"
# Longer than a whole `make bench`: the calls placed at its start (LiveKit ends a call at its maximum duration),
# their rooms and recordings, and the webhooks signed then must still be live when the cold section's last runs
# replay them.
HORIZON_S = 6 * 3600
AGENT_ID = str(uuid.UUID(int=0xBE4C))
DISPATCHER = "DispatchEventsFunction"  # fed by the outbox's stream
DELIVERER = "DeliverWebhookFunction"  # fed by the delivery queue
SWEEPER = "SweepLiveCallsFunction"  # fed by the minute's schedule
NO_FAILURES: dict[str, list[Any]] = {"batchItemFailures": []}  # a stream's or a queue's batch handled whole
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": False}}
ENGINE_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
# The in-process moto answers S3 requests sent to this address too (MOTO_S3_CUSTOM_ENDPOINTS, as tests/conftest.py
# sets it): the emulator's egress uploads the recordings there, the template's RecordingsS3Endpoint. Nothing listens
# on it; outside the world's moto a request fails on loopback.
LOCAL_S3 = "http://127.0.0.1:1"


def lambda_environment(function_name: str) -> dict[str, str]:
    """What the Lambda runtime sets, so the code takes its Lambda paths (`Tracing: Active`, template Globals: the
    trace header and a daemon address on loopback, for Powertools Tracer where the X-Ray SDK imports: PROBED)."""
    return {
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "LAMBDA_TASK_ROOT": "/var/task",
        "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }


# Optional packages the layer's code looks for and uses when present: Powertools Tracer turns X-Ray subsegments
# on (every AWS request and the handler, ~0.3-1 ms a call measured here) only where the X-Ray SDK imports.
PROBED = ("aws_xray_sdk",)


def hide_what_lambda_lacks() -> dict[str, Any]:
    """Make the probed packages the deployed functions cannot import (not in the layer: bench/lambda_path.py)
    unimportable in this process too, as the cold-start children are; this venv has the X-Ray SDK for moto's
    server. Returns what to give `unhide` to put things back."""
    saved: dict[str, Any] = {}
    for name in _lacking():
        saved[name] = sys.modules.get(name)
        sys.modules[name] = None  # type: ignore[assignment]  # `import` raises ModuleNotFoundError
    return saved


@functools.cache
def _lacking() -> tuple[str, ...]:
    """Once per process: the walk of the installed distributions is the same for every world."""
    from bench.lambda_path import allowed_modules

    allowed = set(allowed_modules())
    return tuple(name for name in PROBED if name not in allowed)


def unhide(saved: dict[str, Any]) -> None:
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


class Failure(AssertionError):
    """A handler answered something the benchmark did not expect: the scenario (or the service) is broken."""


class NumberPool:
    """Valid, distinct US numbers (phonenumbers' own validation), none of them premium-rate."""

    def __init__(self) -> None:
        self._candidates = self._generate()
        self._used: set[str] = {CALLEE, SLOW_CALLEE, TRANSFER_CALLEE, TRANSFER_TO}

    @staticmethod
    def _generate() -> Iterator[str]:
        import phonenumbers

        premium = {phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST}
        for area, exchange, line in itertools.product(
            (415, 650, 510, 408, 628), range(201, 990, 7), range(1000, 10000)
        ):
            text = f"+1{area}{exchange}{line}"
            parsed = phonenumbers.parse(text, None)
            if phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) not in premium:
                yield text

    def take(self) -> str:
        for number in self._candidates:
            if number not in self._used:
                self._used.add(number)
                return number
        raise RuntimeError("out of phone numbers")


def agent_of(user_id: str) -> str:
    """The agent a user's numbers dispatch: an agent name belongs to the first account that names it."""
    return f"bench-agent-{user_id}"


def register_body(e164: str, *, outbound: bool = True, agent_name: str = "bench-agent") -> dict[str, Any]:
    """The README's registration: every commonly used field of the Register Phone Number API."""
    body: dict[str, Any] = {
        "phone_number": e164,
        "provider": "twilio",
        "enable_outbound": outbound,
        "auth_username": "lk-bench",
        "auth_password": "bench-s3cret",
        "transfer_config": {"allowed_destinations": [f"tel:{TRANSFER_TO}"], "warm_transfer_enabled": True},
        "metadata": {"agent_name": agent_name},
    }
    if outbound:
        body["outbound_address"] = "example.pstn.twilio.com"
    return body


def configure_body(e164: str, index: int, agent_name: str) -> dict[str, Any]:
    return {
        "sip_trunk": {
            "name": f"bench {index}",
            "address": "sip.telnyx.com",
            "numbers": [e164],
            "auth_username": "bench",
            "auth_password": f"s3cret-{index}",
        },
        "dispatch_rule": {"rule_name": f"bench {index}", "room_prefix": f"bench-{index}-", "agent_name": agent_name},
    }


class World:
    """Enter it to deploy; leave it to tear everything down (environment included)."""

    def __init__(self, emulator: Any, issuer: Any, *, webhooks: bool = True, engine: bool = False) -> None:
        self.emulator = emulator
        self.issuer = issuer
        self.webhooks = webhooks
        self.engine = engine  # Step Functions executes the state machines (the campaign engine), as in `make dev`
        self.numbers = NumberPool()
        self._saved_env: dict[str, str] = {}
        self._hidden: dict[str, Any] = {}
        self._mock: Any = None
        self._server: Any = None
        self.gateway: Any = None  # local.gateway.Gateway behind the emulator's webhooks (None without them)
        self.receiver: Any = None  # local.receiver.Receiver: every webhook's endpoint, answering 200
        self._callers: list[tuple[str, int]] = []
        self._caller_numbers: dict[str, str] = {}  # caller -> the phone_number_id of its outbound number
        self._serial = itertools.count()
        self._setup_uses: dict[str, int] = {}
        self.shared: dict[str, Any] = {}  # fixtures scenarios share (read-only ones)

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> World:
        import moto

        from local.receiver import Receiver
        from local.stack import LOCAL_PARAMETERS, aws_environment, livekit_parameters, prepare

        self._saved_env = dict(os.environ)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        aws_environment(None)
        os.environ.update(lambda_environment("telephony-bench"))
        os.environ["MOTO_S3_CUSTOM_ENDPOINTS"] = LOCAL_S3
        self._hidden = hide_what_lambda_lacks()
        self._mock = moto.mock_aws(config=ENGINE_CONFIG if self.engine else MOTO_CONFIG)
        self._mock.start()
        reset_caches()
        parameters = {
            "JwtIssuer": self.issuer.url,
            "JwtAudience": self.issuer.audience,
            **livekit_parameters(self.emulator),
            # the bench sends far more than a stage would let through: it measures the functions, not API Gateway
            "ApiThrottlingRateLimit": "1000000",
            "ApiThrottlingBurstLimit": "1000000",
            **LOCAL_PARAMETERS,  # webhooks on the receiver, at http://127.0.0.1:<port>, as `make dev` allows them
            "RecordingsS3Endpoint": LOCAL_S3,
        }
        self.stack, self.runtime = prepare(parameters)
        reset_caches()
        self.events = EventFactory(self.stack)
        self.emulator.reset()
        self.emulator.set_outcome(SLOW_CALLEE, "answer", after_ms=3_600_000)
        self.emulator.set_outcome(TRANSFER_CALLEE, "answer", after_ms=0, talk_ms=HORIZON_S * 1000)
        self.receiver = Receiver().start()
        if self.webhooks:
            from local.gateway import Gateway

            self.gateway = Gateway(self.stack, self.runtime)
            self._server = self.gateway.serve(HOST, 0)
        self.loud()
        return self

    def __exit__(self, *exc: object) -> None:
        self.emulator.webhook_url = None
        self.emulator.reset()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.receiver.stop()
        self._mock.stop()
        os.environ.clear()
        os.environ.update(self._saved_env)
        unhide(self._hidden)
        reset_caches()

    def loud(self) -> None:
        """The emulator's webhooks reach the handlers (setup: calls get answered, as in production)."""
        if self._server is not None:
            self.emulator.webhook_url = f"http://{HOST}:{self._server.server_address[1]}/livekit/webhook"
        else:
            self.emulator.webhook_url = None

    def quiet(self) -> None:
        """No more webhooks: what is measured next runs alone (the emulator's answers are already applied)."""
        self.emulator.flush_webhooks(timeout=30)
        self.emulator.webhook_url = None
        self.emulator.flush_webhooks(timeout=30)

    # ------------------------------------------------------------ invoking
    def handler(self, function: str) -> Any:
        return self.runtime.handler(self.runtime.function(function))

    def context(self, function: str) -> Any:
        from local.runtime import LambdaContext

        spec = self.runtime.function(function)
        return LambdaContext(spec.name, spec.arn, str(uuid.uuid4()), deadline=time.time() + 29)

    def invoke(self, invocation: Invocation) -> Any:
        try:
            return self.handler(invocation.function)(invocation.event, self.context(invocation.function))
        finally:
            forget_moto_copies()

    def request(
        self,
        method: str,
        path: str,
        principal: Principal | None,
        body: Any = None,
        *,
        expect: int = 200,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One API call through the real handler (setup work); its JSON body."""
        invocation = self.events.http(method, path, principal=principal, body=body, query=query, headers=headers)
        return check(self.invoke(invocation), expect, f"{method} {path}")

    # ------------------------------------------------------------ fixtures
    def setup_principal(self, user_id: str) -> Principal:
        """Setup requests spend their own API budgets (1000 an hour a key), not the key being measured."""
        used = self._setup_uses.get(user_id, 0)
        self._setup_uses[user_id] = used + 1
        return user(user_id, key=f"ak_setup_{user_id}_{used // 900}")

    def setup_admin(self) -> Principal:
        used = self._setup_uses.get("admin", 0)
        self._setup_uses["admin"] = used + 1
        return Principal("usr_bench_admin", "admin", f"ak_setup_admin_{used // 900}")

    def api_key(self, user_id: str) -> dict[str, Any]:
        return self.request("POST", "/api-keys", self.setup_principal(user_id), {"name": "bench"}, expect=201)

    def number_request(self, user_id: str, e164: str | None = None) -> dict[str, Any]:
        body = {"phone_number": e164} if e164 else {"country": "US", "area_code": "415", "number_type": "local"}
        return self.request("POST", "/telephony/phone-number-requests", self.setup_principal(user_id), body, expect=201)

    def approve(self, request_id: str) -> dict[str, Any]:
        path = f"/admin/phone-number-requests/{request_id}/approve"
        return self.request("POST", path, self.setup_admin(), {"note": "ok"})

    def owned_number(self, user_id: str) -> dict[str, Any]:
        """A number the user owns, unconfigured: request, admin approval, then the workflow's assign task."""
        e164 = self.numbers.take()
        request_id = self.number_request(user_id, e164)["request_id"]
        self.approve(request_id)
        task = Invocation("AssignNumberFunction", {"request_id": request_id, "decision": {"phone_number": e164}})
        assigned = self.invoke(task)
        return {"phone_number_id": assigned["phone_number_id"], "phone_number": e164}

    def configure(self, user_id: str, number: dict[str, Any], index: int) -> dict[str, Any]:
        path = f"/outbound-calls/phone-numbers/{number['phone_number_id']}/configure"
        body = configure_body(number["phone_number"], index, agent_of(user_id))
        return self.request("POST", path, self.setup_principal(user_id), body)

    def register(self, user_id: str, *, outbound: bool = True, agent_id: str = AGENT_ID) -> dict[str, Any]:
        body = register_body(self.numbers.take(), outbound=outbound, agent_name=agent_of(user_id))
        path = f"/agents/{agent_id}/phone-numbers"
        return self.request("POST", path, self.setup_principal(user_id), body, expect=201)

    def caller(self, reserve: int = 1) -> Principal:
        """A user with an outbound number and `reserve` calls of budget left (100 an hour, DESIGN section 3)."""
        if not self._callers or self._callers[-1][1] + reserve > 90:
            user_id = f"usr_caller_{len(self._callers)}"
            self._caller_numbers[user_id] = self.register(user_id)["phone_number_id"]
            self.allow_live_calls(user_id)
            self._callers.append((user_id, 0))
        user_id, used = self._callers[-1]
        self._callers[-1] = (user_id, used + reserve)
        return user(user_id, key=f"ak_caller_{user_id}")

    def caller_number(self, principal: Principal) -> str:
        """The phone_number_id of the outbound number of a user `caller` made."""
        return self._caller_numbers[principal.user_id]

    def allow_live_calls(self, user_id: str) -> None:
        """The scenarios leave calls ringing by the hundred: the account may hold as many live as the limits allow."""
        from telephony.models.limits import MAXIMA

        body = {"max_concurrent_calls": MAXIMA["max_concurrent_calls"]}
        self.request("PUT", f"/admin/accounts/{user_id}/limits", self.setup_admin(), body)

    def call(self, callee: str = CALLEE, principal: Principal | None = None, **extra: Any) -> dict[str, Any]:
        """A call placed by `principal` (untimed), lasting the horizon at most; `extra`: more create-call fields."""
        body = {
            "phone_number": callee,
            "system_prompt": "Be brief",
            "welcome_message": "Hi!",
            "max_call_duration_seconds": HORIZON_S,
            **extra,
        }
        return self.request("POST", "/outbound-calls/create", principal or self.caller(), body, expect=201)

    def wait_calls(self, call_ids: list[str], status: str, timeout: float | None = None) -> None:
        """Until the emulator's webhooks moved every call there (they queue up behind hundreds of calls)."""
        from telephony.repositories.store import default_store

        calls = default_store().calls
        deadline = time.monotonic() + (timeout if timeout is not None else max(60.0, 0.5 * len(call_ids)))
        pending = list(call_ids)
        while pending:
            pending = [c for c in pending if getattr(calls.get(c), "status", None) != status]
            if pending and time.monotonic() > deadline:
                raise Failure(f"{len(pending)} calls did not reach {status}, e.g. {pending[0]}")
            if pending:
                time.sleep(0.05)

    def wait_recordings(self, call_ids: list[str], status: str, timeout: float | None = None) -> None:
        """Until the egress webhooks moved every call's recording there (each recording's several webhooks queue up
        behind those of hundreds of calls: 200 recordings made ready took two minutes here)."""
        from telephony.repositories.store import default_store

        calls = default_store().calls
        deadline = time.monotonic() + (timeout if timeout is not None else max(120.0, 1.0 * len(call_ids)))
        pending = list(call_ids)
        while pending:
            pending = [
                c for c in pending if getattr(getattr(calls.get(c), "recording", None), "status", None) != status
            ]
            if pending and time.monotonic() > deadline:
                raise Failure(f"{len(pending)} recordings did not reach {status}, e.g. of {pending[0]}")
            if pending:
                time.sleep(0.05)

    def recorded_calls(self, count: int) -> list[tuple[Principal, str]]:
        """`count` calls with `"record": true`, answered and talking for the horizon, their recordings being made (the
        egress the answer started, active): each with its caller."""
        placed = []
        for _ in range(count):
            principal = self.caller()
            placed.append((principal, self.call(TRANSFER_CALLEE, principal, record=True)["call_id"]))
        ids = [call_id for _, call_id in placed]
        self.wait_calls(ids, "in_progress")
        self.wait_recordings(ids, "recording")
        return placed

    def ready_recordings(self, count: int) -> list[tuple[Principal, str]]:
        """`count` recorded calls hung up after they were answered: the egress stopped, its file uploaded to the
        recordings bucket and its end told, so each recording is `ready`. Each with its caller."""
        placed = self.recorded_calls(count)
        for principal, call_id in placed:
            self.request("POST", f"/outbound-calls/{call_id}/hangup", principal)
        self.wait_recordings([call_id for _, call_id in placed], "ready")
        return placed

    def ended_call(self, principal: Principal) -> str:
        """A call placed and hung up, so that its `call.ended` event is in the outbox: the call's id."""
        call_id = str(self.call(SLOW_CALLEE, principal=principal)["call_id"])
        self.request("POST", f"/outbound-calls/{call_id}/hangup", principal)
        return call_id

    # ------------------------------------------------------------ account webhooks
    def webhook(self, user_id: str, events: list[str] | None = None) -> dict[str, Any]:
        """A webhook of the user's on the receiver, as POST /webhooks answers it (its secret is shown there once)."""
        body = {"url": self.receiver.url, "events": events or ["*"], "description": "bench receiver"}
        return self.request("POST", "/webhooks", self.setup_principal(user_id), body, expect=201)

    def test_event(self, user_id: str, webhook_id: str) -> str:
        """A `webhook.test` event in the outbox (POST /webhooks/{webhook_id}/test): its id."""
        return str(self.request("POST", f"/webhooks/{webhook_id}/test", self.setup_principal(user_id))["event_id"])

    def outbox_record(self, owner_id: str, keep: Callable[[Any], bool]) -> Record:
        """The outbox stream's record of the one new event of `owner_id` that `keep` picks (given the event, a
        telephony.models.webhooks.EventRecord), as the stream hands it to DispatchEventsFunction."""
        from telephony.repositories.events import from_image

        def wanted(record: Record) -> bool:
            image = record["dynamodb"].get("NewImage") or {}
            mine = record["eventName"] == "INSERT" and image.get("owner_id") == {"S": owner_id}
            return mine and keep(from_image(image))

        return _one(self.events.streamed(DISPATCHER, wanted), f"new outbox events of {owner_id}")

    def dispatch(self, record: Record, webhook_id: str) -> Record:
        """DispatchEventsFunction given one outbox record; the message it queued for the webhook, as the queue hands
        it to DeliverWebhookFunction."""
        answer = check(self.invoke(Invocation(DISPATCHER, {"Records": [record]})), None, DISPATCHER)
        if answer != NO_FAILURES:
            raise Failure(f"{DISPATCHER}: {answer}")
        return _one(
            self.events.queued(DELIVERER, lambda r: json.loads(r["body"])["webhook_id"] == webhook_id),
            f"new delivery messages for {webhook_id}",
        )

    def deliver(self, message: Record) -> None:
        """DeliverWebhookFunction given one delivery message: the event is sent to the receiver."""
        answer = check(self.invoke(Invocation(DELIVERER, {"Records": [message]})), None, DELIVERER)
        if answer != NO_FAILURES:
            raise Failure(f"{DELIVERER}: {answer}")

    def delivery(self, user_id: str, webhook_id: str) -> str:
        """A test event fanned out to the webhook and delivered, each step by the real function: the attempt's id."""
        event_id = self.test_event(user_id, webhook_id)
        message = self.dispatch(self.outbox_record(user_id, lambda event: event.event_id == event_id), webhook_id)
        self.deliver(message)
        return str(json.loads(message["body"])["delivery_id"])

    def received(self, event_id: str, secret: str) -> bool:
        """The receiver was sent this event, signed with this secret (the `standardwebhooks` library verifies it,
        as a customer's endpoint would), and answered it 200."""
        from standardwebhooks.webhooks import WebhookVerificationError

        for got in self.receiver.of_type():
            if got.headers.get("webhook-id") == event_id and got.status == 200:
                try:
                    got.verified(secret)
                except WebhookVerificationError:
                    return False
                return True
        return False

    def signed_webhook(self, event: str, call_id: str, **participant: Any) -> Invocation:
        """A LiveKit webhook as the server signs it (the emulator's encoder and signer)."""
        from livekit.protocol import models
        from livekit.protocol import webhook as webhook_pb

        from local.livekit_emulator.auth import sign_token
        from local.livekit_emulator.webhooks import CONTENT_TYPE, encode_event

        serial = next(self._serial)
        message = webhook_pb.WebhookEvent(
            event=event,
            id=f"EV_bench{serial:08d}",
            created_at=int(time.time()),
            room=models.Room(sid=f"RM_bench{serial:08d}", name=call_id),
            participant=models.ParticipantInfo(sid=f"PA_bench{serial:08d}", identity=f"sip-{call_id}", **participant),
        )
        body = encode_event(message)
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        # Signed as the emulator signs webhooks, valid for the horizon instead of five minutes: the cold-start
        # runs replay events made at the start of a long benchmark.
        authorization = sign_token(self.emulator.api_key, self.emulator.api_secret, {"sha256": digest}, HORIZON_S)
        headers = {"authorization": authorization, "content-type": CONTENT_TYPE}
        return self.events.http("POST", "/livekit/webhook", body=body, headers=headers)


def _one(found: list[Record], what: str) -> Record:
    if len(found) != 1:
        raise Failure(f"expected one of the {what}, found {len(found)}")
    return found[0]


def check(result: Any, expect: int | None, what: str) -> Any:
    """The JSON body of an HTTP answer with the expected status (or a task's / the authorizer's result)."""
    if expect is None:
        if not isinstance(result, dict):
            raise Failure(f"{what}: expected a dict, got {result!r:.300}")
        return result
    status = result.get("statusCode") if isinstance(result, dict) else None
    if status != expect:
        raise Failure(f"{what}: expected {expect}, got {status}: {str(result)[:500]}")
    body = result.get("body") or ""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


def forget_moto_copies() -> None:
    """moto keeps every model object it ever made for its dashboard (DynamoDB's items no longer, nor copies of
    whole tables: local/patches.py), so the collector would scan more at every invocation. Dropping that list
    changes nothing else; call it between invocations."""
    from moto.core.model_instances import reset_model_data

    reset_model_data()


def reset_caches() -> None:
    """Every cached client and setting of the layer, as tests/conftest.py resets them."""
    from telephony import aws, config, observability
    from telephony.integrations import bedrock, livekit
    from telephony.services import auth

    observability._tracer = None  # decided again under the environment of this world
    livekit.reset_default()
    bedrock.reset_default()
    config.settings.cache_clear()
    aws.reset()  # the idempotency store's persistence layer is made again with the new clients
    auth._jwks_client.cache_clear()
