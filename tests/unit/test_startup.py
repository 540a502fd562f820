"""The garbage collector is held off from the layer's first import in Lambda until the first invocation ends."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from telephony import startup

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter imports GET /docs's function (no AWS needed), serves two events, and reports the
# collector's state at each step.
_CHILD = """
import gc, json, sys
states = {"before": gc.isenabled(), "frozen_at_start": gc.get_freeze_count()}
import functions.get_docs.app as app
states["imported"] = gc.isenabled()
event = {"version": "2.0", "routeKey": "GET /docs", "rawPath": "/docs", "headers": {},
         "requestContext": {"http": {"method": "GET", "path": "/docs"}, "requestId": "r1", "stage": "$default"}}
first = app.lambda_handler(event, None)
states["served"] = gc.isenabled()
states["frozen"] = gc.get_freeze_count()
second = app.lambda_handler(event, None)
states["statuses"] = [first["statusCode"], second["statusCode"]]
states["enabled_after_second"] = gc.isenabled()
print(json.dumps(states))
"""


def _child(**env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "AWS_EXECUTION_ENV"}
    environment.update(env, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=environment, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_in_lambda_the_collector_is_off_until_the_first_invocation_ends_then_frozen() -> None:
    states = _child(AWS_EXECUTION_ENV="AWS_Lambda_python3.12", POWERTOOLS_TRACE_DISABLED="true")
    assert states["before"] is True
    assert states["imported"] is False  # the layer's import turned it off
    assert states["served"] is True  # and the first invocation's end back on
    # everything the start-up built is out of the collector's walks
    assert states["frozen"] - states["frozen_at_start"] > 10_000
    assert states["statuses"] == [200, 200]
    assert states["enabled_after_second"] is True


def test_outside_lambda_nothing_changes() -> None:
    states = _child()
    assert states["imported"] is True
    assert states["served"] is True
    assert states["frozen"] == states["frozen_at_start"]


@pytest.fixture
def collector():
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    startup._held = False


def test_release_only_undoes_its_own_hold(collector, monkeypatch) -> None:
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    gc.unfreeze()
    startup.hold()
    assert gc.isenabled()
    startup.release()
    assert gc.get_freeze_count() == 0  # nothing frozen when nothing was held

    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    startup.hold()
    assert not gc.isenabled()
    startup.release()
    assert gc.isenabled() and gc.get_freeze_count() > 0
    gc.unfreeze()
    startup.release()  # a second release does nothing
    assert gc.get_freeze_count() == 0
