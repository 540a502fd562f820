"""One cold start, in a fresh interpreter: `python -m bench.cold_child SPEC.json`.

Timed: importing the function's module (Lambda's init) and serving its first event. Between the
two, untimed, moto is started in-process (`mock_aws`, adjusted by local/patches.py as the
benchmark world's is) and given a copy of the benchmark's tables, secrets, queues and KMS keys: the
function's code has not run yet, only imported. Only the standard library is
imported before the function's module, so its import pays for everything it needs (boto3 too).
Lines `bench-phase: <name>` on stderr mark the phases for `-X importtime`.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import resource
import sys
import time
import uuid
from typing import Any


class Context:
    """The Lambda context object, as the runtime passes it."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"
        self._deadline = time.time() + 29

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.time()) * 1000), 0)


class LambdaPath:
    """Refuses the top-level imports Lambda could not satisfy (bench/lambda_path.py says which it can)."""

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = frozenset(allowed)
        self.active = True

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if self.active and "." not in fullname and fullname not in self.allowed:
            found = importlib.machinery.PathFinder.find_spec(fullname)
            origin = str((found.origin or found.submodule_search_locations) if found else "")
            if "-packages" in origin:  # a third-party package of this venv, not of the layer
                raise ModuleNotFoundError(f"No module named {fullname!r} (not on Lambda)", name=fullname)
        return None


def _status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status (Linux), in MB (2^20 bytes, Lambda's MB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_mb() -> float:
    """This process's resident memory now."""
    return _status_mb("VmRSS") or peak_rss_mb()


def peak_rss_mb() -> float:
    """The most resident memory this process has had (what Lambda's "Max Memory Used" reports for an environment).
    VmHWM, not `ru_maxrss`: Linux keeps the latter across exec, so a child started by fork and exec reports the
    benchmark's own peak there."""
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str) -> None:
    sys.stderr.write(f"bench-phase: {name}\n")
    sys.stderr.flush()


def setup_aws(spec: dict[str, Any]) -> list[str]:
    """moto in this process, holding a copy of the benchmark world's tables, secrets, state machines, queues, buckets
    (without their objects) and KMS keys."""
    import base64

    import boto3
    import moto
    from moto.kms.models import kms_backends

    from local.patches import CUSTOM_KEY_ID_TAG, adjust_dynamodb, adjust_kms
    from local.template import ACCOUNT, REGION

    adjust_dynamodb()  # moto as the world's (local.stack.prepare): its costs are not the function's
    adjust_kms()  # a key made with the world's id
    moto.mock_aws(config={"stepfunctions": {"execute_state_machine": False}}).start()  # type: ignore[arg-type]
    session = boto3.session.Session(region_name="us-east-1")
    dynamodb: Any = session.client("dynamodb")
    for name, table in spec["tables"].items():
        dynamodb.create_table(TableName=name, **table["spec"])
        items = table["items"]
        for start in range(0, len(items), 25):
            pending = {name: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    secrets = session.client("secretsmanager")
    for name, value in spec["secrets"].items():
        secrets.create_secret(Name=name, SecretString=value)
    sfn = session.client("stepfunctions")
    for name, definition in spec["state_machines"].items():
        sfn.create_state_machine(name=name, definition=definition, roleArn=f"arn:aws:iam::123456789012:role/{name}")
    sqs = session.client("sqs")
    for queue in spec["queues"]:  # in the world's order: a dead-letter queue before the queues that redrive to it
        sqs.create_queue(QueueName=queue["name"], Attributes=queue["attributes"])
    s3 = session.client("s3")
    for bucket in spec.get("buckets", ()):
        s3.create_bucket(Bucket=bucket)
    kms = session.client("kms")
    for key in spec["kms_keys"]:
        kms.create_key(Tags=[{"TagKey": CUSTOM_KEY_ID_TAG, "TagValue": key["key_id"]}])
        # the world's material (no API sets it on a key of this origin): its ciphertexts decrypt here
        kms_backends[ACCOUNT][REGION].keys[key["key_id"]].key_material = base64.b64decode(key["material"])
        # moto imports the rest of what it encrypts with on first use: now, untimed, not in the first event
        sealed = kms.encrypt(KeyId=key["key_id"], Plaintext=b"warm-up")["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=sealed)
    return _count_requests()


_requests: list[str] = []
_moto = {"ns": 0, "started": 0}  # moto serving those requests in this process (DynamoDB's work, on Lambda)
# Modules moto loaded that this function could not import on Lambda (`hide`): out of sys.modules while the function
# runs, back in while moto serves a request (its KMS imports from cryptography as it encrypts).
_hidden: dict[str, Any] = {}


def hide(packages: set[str]) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        _hidden[name] = sys.modules.pop(name)


def _count_requests() -> list[str]:
    """Every AWS request made from now on (the function's clients are created after this), and the time moto
    spends serving them: `before-send` handlers first and last around moto's stubber, as bench/probe.py does."""
    from botocore.handlers import BUILTIN_HANDLERS

    def started(**kwargs: Any) -> None:
        sys.modules.update(_hidden)
        _moto["started"] = time.perf_counter_ns()

    def record(event_name: str = "", **kwargs: Any) -> None:
        _moto["ns"] += time.perf_counter_ns() - _moto["started"]
        for name in _hidden:
            sys.modules.pop(name, None)
        _requests.append(event_name.split(".", 1)[1])

    BUILTIN_HANDLERS.insert(0, ("before-send", started))
    BUILTIN_HANDLERS.append(("before-send", record))
    return _requests


def _summary(answer: Any) -> Any:
    """The answer, small enough to pass back: a long HTTP body is cut."""
    if not isinstance(answer, dict):
        return repr(answer)[:500]
    summary = json.loads(json.dumps(answer, default=str))
    if isinstance(summary.get("body"), str) and len(summary["body"]) > 2000:
        summary["body"] = summary["body"][:2000]
    return summary


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    os.environ.update(spec["env"])
    lambda_path = LambdaPath(spec["allowed_modules"])
    sys.meta_path.insert(0, lambda_path)

    phase("import")
    started = time.perf_counter()
    module = importlib.import_module(spec["module"])
    handler = getattr(module, spec["attribute"])
    imported = time.perf_counter()
    rss_imported = rss_mb()
    modules_after_import = set(sys.modules)

    phase("setup")
    aws_import_ms = 0.0
    if "botocore.client" not in sys.modules and spec.get("tables") is not None:
        # The function imports the AWS SDK lazily, if at all; moto needs it now. Timed here so that, should the
        # first event talk to AWS, it pays for the import moto has made for it (a function that never does,
        # like the OpenAPI document's, does not).
        before = time.perf_counter()
        importlib.import_module("boto3")
        aws_import_ms = (time.perf_counter() - before) * 1000
    lambda_path.active = False  # moto and its dependencies are the benchmark's, not the function's
    requests = setup_aws(spec) if spec.get("tables") is not None else []
    event = spec["event"]
    context = Context(spec["env"].get("AWS_LAMBDA_FUNCTION_NAME", "bench"))
    hide(set(spec.get("hidden_modules", ())))  # loaded by moto; not on this Lambda
    lambda_path.active = True
    rss_set_up = rss_mb()

    phase("first-event")
    first = time.perf_counter()
    answer = handler(event, context)
    served = time.perf_counter()
    rss_served, rss_peak = rss_mb(), peak_rss_mb()
    phase("done")

    livekit = sys.modules.get("telephony.integrations.livekit")
    default = getattr(livekit, "_default", None) if livekit else None
    result = {
        "import_ms": (imported - started) * 1000,
        "first_event_ms": (served - first) * 1000 + (aws_import_ms if requests else 0.0),
        "first_event_moto_ms": _moto["ns"] / 1e6,
        "answer": _summary(answer),
        "jwt_in_event": "jwt" not in modules_after_import and "jwt" in sys.modules,
        "livekit_loaded": bool(default is not None and default.calls),  # it talked to LiveKit
        "aws_requests": requests,
        "livekit_requests": default.calls if default is not None else 0,
        # resident memory (MB): after the import, after moto's setup, after the first event, and the peak
        "rss_import_mb": rss_imported,
        "rss_setup_mb": rss_set_up,
        "rss_event_mb": rss_served,
        "rss_peak_mb": rss_peak,
    }
    with open(spec["result"], "w") as file:
        json.dump(result, file)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no atexit work (the LiveKit client's close) in the figures of the next run


if __name__ == "__main__":
    main()
