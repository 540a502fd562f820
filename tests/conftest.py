"""Fixtures for the integration level: the template deployed into moto in-process, the real
handlers behind the local gateway, a dev OIDC issuer on loopback, and seeded principals."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

import moto


@pytest.fixture(scope="session")
def issuer() -> Iterator[Any]:
    from local.issuer import Issuer

    dev = Issuer()
    dev.serve()
    yield dev
    dev.stop()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    from local.livekit_emulator import Emulator

    emu = Emulator(api_key="testkey", api_secret="test-secret-" + "x" * 32)
    emu.start("127.0.0.1", 0)
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def local_s3() -> Iterator[Any]:
    """moto's server on loopback with S3's checks of presigned links (local/moto_server.py), as `make dev` serves
    its S3: it holds the in-process mock's state, so the tests' S3 is served there, where a link they download is
    refused as S3 refuses it, once expired or changed."""
    from local.moto_server import MotoServer

    server = MotoServer().start()
    yield server
    server.stop()


@dataclass
class World:
    stack: Any
    runtime: Any
    gateway: Any
    client: Any
    issuer: Any
    livekit: Any
    events: Any  # the template's event sources (local/event_sources.py), running
    s3: Any  # local/moto_server.py's MotoServer: S3 for the functions, the egress and the tests; `.clock` its clock


def _reset_caches() -> None:
    from telephony import aws, config
    from telephony.integrations import bedrock, livekit
    from telephony.services import auth, limits

    limits.forget()
    livekit.reset_default()
    bedrock.reset_default()
    config.settings.cache_clear()
    aws.reset()
    auth._jwks_client.cache_clear()


@pytest.fixture
def parameters() -> dict[str, str]:
    """Template parameter overrides for a test; override this fixture to change them."""
    return {}


@pytest.fixture
def world(issuer: Any, emulator: Any, local_s3: Any, parameters: dict[str, str]) -> Iterator[World]:
    from local.event_sources import EventSources
    from local.gateway import Gateway
    from local.stack import LOCAL_PARAMETERS, livekit_parameters, prepare
    from tests.support import GatewayClient

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    saved = dict(os.environ)
    os.environ["AWS_ENDPOINT_URL_S3"] = local_s3.url  # every S3 client here, the functions' links among them
    local_s3.clock.reset()
    with moto.mock_aws(config=config):  # type: ignore[arg-type]
        _reset_caches()
        emulator.reset()
        emulator.webhook_url = None
        stack, runtime = prepare(
            {
                "JwtIssuer": issuer.url,
                "JwtAudience": issuer.audience,
                **livekit_parameters(emulator),
                **LOCAL_PARAMETERS,
                "RecordingsS3Endpoint": local_s3.url,  # the emulator's egress uploads there
                **parameters,
            }
        )
        _reset_caches()  # a workflow thread of an earlier test may have read the environment meanwhile
        gateway = Gateway(stack, runtime)
        server = gateway.serve("127.0.0.1", 0)
        emulator.webhook_url = f"http://127.0.0.1:{server.server_address[1]}/livekit/webhook"
        events = EventSources(stack, runtime.invoke).start()
        yield World(stack, runtime, gateway, GatewayClient(gateway), issuer, emulator, events, local_s3)
        events.stop()
        emulator.webhook_url = None
        emulator.reset()
        server.shutdown()
        server.server_close()
    os.environ.clear()
    os.environ.update(saved)
    _reset_caches()


@dataclass
class Principals:
    admin: str
    alice: str
    bob: str
    agent: str
    alice_jwt: str
    admin_jwt: str


@pytest.fixture
def keys(world: World) -> Principals:
    from local.stack import seed

    creds = seed(world.issuer, "in-process")
    return Principals(
        admin=creds["admin"]["api_key"],
        alice=creds["users"][0]["api_key"],
        bob=creds["users"][1]["api_key"],
        agent=creds["agent"]["api_key"],
        alice_jwt=creds["users"][0]["jwt"],
        admin_jwt=creds["admin"]["jwt"],
    )
