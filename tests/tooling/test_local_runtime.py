"""The local runtime at cold start, as `make dev` meets its first burst of requests: every HTTP function's first
container loads while the others load too, in a fresh interpreter, and each answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every routed function invoked at once, cold, without credentials: the authenticated ones refuse with 401 before
# any AWS request, the public ones answer (the webhook finds no LiveKit configured: its own 500).
_CHILD = """
import collections, json, threading
from local.runtime import Runtime
from local.template import Stack

runtime = Runtime(Stack())
routed = [f for f in runtime.functions.values() if f.routes]
start = threading.Barrier(len(routed))
seen = collections.Counter()

def first(function):
    method, path, _ = function.routes[0]
    path = path.replace("{", "").replace("}", "")
    context = {"http": {"method": method, "path": path}, "requestId": "r1", "stage": "$default"}
    event = {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {}, "requestContext": context}
    start.wait()
    try:
        seen[str(runtime.invoke(function.logical_id, event)["statusCode"])] += 1
    except Exception as error:
        seen[type(error).__name__] += 1

threads = [threading.Thread(target=first, args=(f,)) for f in routed]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({"functions": len(routed), "seen": seen}))
"""


def test_functions_loading_together_at_cold_start_all_answer():
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing may reach AWS; nothing should try
    }
    for name in ("LIVEKIT_URL", "LIVEKIT_CREDENTIALS_SECRET_ARN"):
        environment.pop(name, None)
    for _ in range(3):  # Python's import deadlock between threads does not show every time
        done = subprocess.run(
            [sys.executable, "-c", _CHILD], env=environment, capture_output=True, text=True, timeout=180, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        public = {"200": 2, "500": 1}  # the document and Swagger UI; the webhook, without LiveKit
        assert result["seen"] == {**public, "401": result["functions"] - 3}, result
