"""SnapStart: the template puts it on the API functions behind their alias, and the layer renews after a restore
what a snapshot would otherwise share between execution environments."""

from __future__ import annotations

import random
import sys

import pytest
import snapshot_restore_py

from telephony import aws, snapstart
from telephony.integrations import livekit

CREDENTIALS = livekit.Credentials("http://127.0.0.1:1", "APIkey", "a-secret-of-at-least-32-characters!!")


def _restore() -> None:
    """What Lambda's runtime does once it has restored an environment from the snapshot."""
    for renew, args, kwargs in snapshot_restore_py.get_after_restore():
        renew(*args, **kwargs)


def test_a_restored_environment_forgets_the_clients_connections_tokens_and_random_state_of_the_snapshot() -> None:
    # Given an environment holding what a first invocation leaves behind
    session, dynamodb = aws._session(), aws.client("dynamodb")
    livekit._default = livekit.LiveKit(CREDENTIALS)
    pool = livekit._http()
    livekit._token(CREDENTIALS, {"roomAdmin": True, "room": "call_1"}, {})
    random_state = random.getstate()
    try:
        # When Lambda restores it from a snapshot
        _restore()

        # Then every client, connection, credential and token is made again, and `random` is reseeded
        assert aws._session() is not session and aws.client("dynamodb") is not dynamodb
        assert livekit._default is None and livekit._tokens == {}
        assert livekit._http() is not pool
        assert random.getstate() != random_state
    finally:
        aws.reset()
        livekit.reset_default()


def test_the_hooks_are_registered_when_their_modules_are_imported() -> None:
    """Lambda only runs the hooks registered during the initialisation, that is, at import."""
    registered = [renew for renew, _, _ in snapshot_restore_py.get_after_restore()]
    assert aws.reset in registered
    assert livekit._renew in registered
    assert snapstart._reseed in registered


def test_without_the_runtime_library_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside Lambda's runtime (the local stack, the benchmark's cold starts) the import fails, cleanly."""
    before = list(snapshot_restore_py.get_after_restore())
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # `import` raises ImportError

    def renew() -> None:
        raise AssertionError("never called")

    assert snapstart.after_restore(renew) is renew
    assert snapshot_restore_py.get_after_restore() == before
