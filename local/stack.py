"""The whole product on one machine: moto (DynamoDB, SQS, KMS, Step Functions executing the real task
handlers, S3 refusing presigned links as S3 does), the template's event sources (queues, streams, schedules)
and its tables' TTL, the LiveKit emulator, a dev OIDC issuer and the HTTP gateway. `make dev` runs this.

    python -m local.stack [--api-port 3000] [--moto-port 5000] [--livekit-port 7880]
                          [--state-dir .local] [--param ReviewTimeoutSeconds=60 ...]
                          [--schedule-speed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
# How often `make dev` deletes the items whose TTL has passed (DynamoDB does within days; sooner is as valid).
TTL_PERIOD = 60.0


def aws_environment(endpoint_url: str | None) -> None:
    """Credentials that can only ever reach the local moto; never real AWS."""
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 - moto's dummy credentials  # nosec B105
    os.environ["AWS_SESSION_TOKEN"] = "testing"  # noqa: S105 - moto's dummy credentials  # nosec B105
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ["AWS_REGION"] = "us-east-1"
    os.environ.pop("AWS_PROFILE", None)
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url


def prepare(parameters: dict[str, str], *, endpoint_url: str | None = None) -> Any:
    """Deploy the template into moto and make its functions runnable here; returns the Runtime."""
    from local.patches import adjust_dynamodb, adjust_kms, sqs_checks_message_bytes
    from local.resources import deploy
    from local.runtime import Runtime, patch_moto_lambda

    adjust_dynamodb()
    adjust_kms()
    sqs_checks_message_bytes()
    from local import iam
    from local.template import Stack

    stack = Stack(parameters)
    os.environ.update(stack.environment())
    iam.install(stack)  # before any client is made: the functions' DynamoDB requests are checked against their roles
    deploy(stack, endpoint_url=endpoint_url)
    runtime = Runtime(stack)
    patch_moto_lambda(runtime)
    return stack, runtime


SIP_DOMAIN = "dev.sip.livekit.local"


# What the local stack sets besides the template's defaults: webhooks may go to a receiver on this machine.
LOCAL_PARAMETERS = {"AllowLoopbackWebhooks": "true"}


def livekit_parameters(livekit: Any) -> dict[str, str]:
    """The template parameters that point the functions at a LiveKit (here: the emulator)."""
    return {
        "LiveKitUrl": livekit.url,
        "LiveKitApiKey": livekit.api_key,
        "LiveKitApiSecret": livekit.api_secret,
        "LiveKitSipDomain": SIP_DOMAIN,
    }


def seed(issuer: Any, api_url: str) -> dict[str, Any]:
    """An admin, two users and an agent key, as `.local/dev-credentials.json` describes them."""
    from telephony.models.auth import CreateApiKey
    from telephony.models.principal import Principal, Role
    from telephony.services import api_keys

    def key_for(user_id: str, role: Role, *, key_role: str | None = None) -> str:
        principal = Principal(user_id=user_id, role=role, auth_type="jwt")
        body = CreateApiKey(name=f"dev {key_role or role.value}", role=key_role or role.value)  # type: ignore[arg-type]
        return api_keys.create(body, principal=principal).api_key

    users = [
        {"user_id": uid, "api_key": key_for(uid, Role.USER), "jwt": issuer.mint(uid)}
        for uid in ("usr_alice", "usr_bob")
    ]
    return {
        "api_url": api_url,
        "admin": {
            "user_id": "usr_admin",
            "api_key": key_for("usr_admin", Role.ADMIN),
            "jwt": issuer.mint("usr_admin", role="admin"),
        },
        "users": users,
        "agent": {"user_id": "usr_alice", "api_key": key_for("usr_alice", Role.USER, key_role="agent")},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", "3000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--livekit-port", type=int, default=int(os.environ.get("LIVEKIT_PORT", "7880")))
    parser.add_argument("--state-dir", default=os.environ.get("LOCAL_STATE_DIR", ".local"))
    parser.add_argument("--param", action="append", default=[], help="template parameter override, Key=Value")
    parser.add_argument(
        "--schedule-speed",
        type=float,
        default=float(os.environ.get("LOCAL_SCHEDULE_SPEED", "1")),
        help="run the template's schedules this many times faster than the clock (60: a minute's rate every second)",
    )
    args = parser.parse_args(argv)

    moto_url = f"http://{HOST}:{args.moto_port}"
    api_url = f"http://{HOST}:{args.api_port}"
    aws_environment(moto_url)
    os.environ["MOTO_PORT"] = str(args.moto_port)  # the Step Functions engine calls localhost:$MOTO_PORT

    import logging

    from local.moto_server import MotoServer
    from local.patches import list_moto_modules_once

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    list_moto_modules_once()

    moto = MotoServer(HOST, args.moto_port).start()
    import urllib.request

    config = json.dumps({"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}).encode()
    request = urllib.request.Request(f"{moto_url}/moto-api/config", data=config, method="POST")  # noqa: S310 - loopback
    urllib.request.urlopen(request, timeout=10).read()  # noqa: S310 - moto on loopback  # nosec B310

    from local import swagger_ui
    from local.gateway import Gateway
    from local.issuer import Issuer
    from local.livekit_emulator import Emulator

    livekit = Emulator(api_key="devkey", api_secret=secrets.token_urlsafe(32), webhook_url=f"{api_url}/livekit/webhook")
    livekit.start(HOST, args.livekit_port)
    issuer = Issuer(f"{api_url}/_local/issuer")
    parameters = {
        "JwtIssuer": issuer.url,
        "JwtAudience": issuer.audience,
        "DocsAssetsUrl": swagger_ui.ROUTE.rstrip("/"),  # /docs works offline: Swagger UI from this stack
        **livekit_parameters(livekit),
        **LOCAL_PARAMETERS,
        "RecordingsS3Endpoint": moto_url,  # the emulator's egress uploads recordings to moto's S3
    }
    parameters.update(dict(p.split("=", 1) for p in args.param))
    stack, runtime = prepare(parameters, endpoint_url=moto_url)
    gateway = Gateway(
        stack, runtime, local_routes={"/_local/issuer/": issuer.document, swagger_ui.ROUTE: swagger_ui.serve}
    )
    if not swagger_ui.installed():
        print("Swagger UI is not installed (`make dev` installs it): /docs shows a blank page", file=sys.stderr)
    server = gateway.serve(HOST, args.api_port)
    from local.event_sources import EventSources

    events = EventSources(
        stack, runtime.invoke, endpoint_url=moto_url, schedule_speed=args.schedule_speed, ttl_period=TTL_PERIOD
    )
    events.start()

    credentials = seed(issuer, api_url)
    credentials["livekit"] = {"url": livekit.url, "api_key": livekit.api_key, "api_secret": livekit.api_secret}
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    path = state / "dev-credentials.json"
    path.write_text(json.dumps(credentials, indent=2) + "\n")
    path.chmod(0o600)

    print(f"API        {api_url}", flush=True)
    print(f"moto       {moto_url} (S3's clock for presigned links at {moto_url}/_local/s3/clock)", flush=True)
    print(f"LiveKit    {livekit.url} (emulator; control API at /_emulator/state)", flush=True)
    print(f"routes     {len(gateway.routes)} from template.yaml", flush=True)
    for line in events.describe() or ["none in template.yaml"]:
        print(f"events     {line}", flush=True)
    print(f"credentials {path.resolve()}", flush=True)
    print("ready", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    events.stop()
    server.shutdown()
    livekit.stop()
    moto.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
