"""Cached AWS client factories: the only place clients are created, never at import time."""

from __future__ import annotations

import json
import os
import threading
from functools import cache, cached_property
from typing import Any

_RETRIES: Any = {"mode": "standard", "max_attempts": 3}
_lock = threading.Lock()


@cache
def _session() -> Any:
    """One session for every client: a session per client loaded botocore's endpoints, retry and defaults data
    again for each (measured ~65 ms of a cold start per extra client; ~5 ms with a shared session)."""
    import boto3

    core = _core_session()
    default = core.get_component("data_loader")
    try:
        quick = _loader_class()(list(default.search_paths), _file_loader_class()())
    except Exception:  # a botocore whose Loader is made otherwise (the runtime's, not ours): its own, only slower
        from telephony.observability import logger

        logger().warning("botocore's model loader kept: ours could not be made from it", exc_info=True)
    else:
        core.register_component("data_loader", quick)
    return boto3.session.Session(botocore_session=core)


def _core_session() -> Any:
    """botocore's session, made by `_session_class` when this botocore allows it."""
    import botocore.session

    try:
        return _session_class()()
    except Exception:  # a botocore made otherwise (the runtime's, not ours): its own session, only slower
        from telephony.observability import logger

        logger().warning("botocore's event aliasing kept: ours could not be put in its place", exc_info=True)
        return botocore.session.Session()


@cache
def _session_class() -> type:
    from botocore import hooks, session

    # Typed as Any: what is overridden below is botocore's private side, which its type stubs do not describe.
    base_session: Any = session.Session
    base_aliaser: Any = hooks.EventAliaser

    class QuickSession(base_session):  # type: ignore[misc]
        """botocore's session, its events aliased by `QuickAliaser`: botocore's handlers, in botocore's order."""

        def _register_builtin_handlers(self, events: Any) -> None:
            self._events = QuickAliaser(self._original_handler)  # then registered as the clients' to copy
            super()._register_builtin_handlers(self._events)

    class QuickAliaser(base_aliaser):  # type: ignore[misc]
        """botocore's aliaser, except that a name holding no alias is let through at once. botocore tries each of
        its ~65 aliases in turn on every name it has not seen (splitting the name again for each): ~0.05-0.1 ms a
        name here, for the ~120 handlers a session registers and the ~11 events of each operation a client first
        makes (a client's copy starts with an empty cache): 7-17 ms of a cold start's first event, measured here in
        alternating cold processes. A name that holds an alias is aliased by botocore's own code, as before."""

        def _alias_event_name(self, event_name: str) -> str:
            known = self._alias_name_cache.get(event_name)
            if known is not None:
                return known
            aliases = self._event_aliases
            if any(part in aliases for part in event_name.split(".")) or any(
                "." in old and old in event_name for old in aliases
            ):
                return super()._alias_event_name(event_name)
            self._alias_name_cache[event_name] = event_name
            return event_name

    return QuickSession


@cache
def _file_loader_class() -> type:
    import gzip

    from botocore.loaders import JSONFileLoader

    class PlainJSONFileLoader(JSONFileLoader):  # type: ignore[misc]
        """botocore's JSON data files decoded into plain dicts: botocore asks `json` for an OrderedDict per
        object, which made decoding endpoints.json (1.25 MB, read by every first client) ~3x slower (34 -> 12 ms
        measured here). Python's dicts keep the file's order too, and botocore only reads these as mappings.
        The same files in the same order (.json, then .json.gz); anything else is botocore's own to find."""

        def load_file(self, file_path: str) -> Any:
            for extension, opener in ((".json", open), (".json.gz", gzip.open)):
                path = file_path + extension
                if os.path.isfile(path):
                    with opener(path, "rb") as data:
                        return json.loads(data.read().decode("utf-8"))
            return super().load_file(file_path)

    return PlainJSONFileLoader


@cache
def _loader_class() -> type:
    from collections.abc import Sequence

    from botocore.loaders import Loader

    class Services(Sequence[str]):
        """The services that have `type_name` data, as botocore lists them, for `load_service_model`'s check of
        the name it was given: that test looks in the one service's folders; its error message lists them all."""

        def __init__(self, loader: Any, type_name: str) -> None:
            self.loader, self.type_name = loader, type_name

        @cached_property
        def _all(self) -> list[str]:
            return Loader.list_available_services(self.loader, self.type_name)  # type: ignore[no-any-return]

        def __contains__(self, name: object) -> bool:
            if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
                return False
            exists = self.loader.file_loader.exists
            for base in self.loader.search_paths:
                folder = os.path.join(base, name)
                if os.path.isdir(folder) and any(
                    exists(os.path.join(folder, version, self.type_name)) for version in os.listdir(folder)
                ):
                    return True
            return False

        def __getitem__(self, index: Any) -> Any:
            return self._all[index]

        def __len__(self) -> int:
            return len(self._all)

    class QuickLoader(Loader):  # type: ignore[misc]
        """botocore's loader, except that loading a model no longer lists every service's folder first (~440 of
        them, twice: the model and its endpoint rules; 20-50 ms of the first client measured here) only to check
        that the one asked for exists. Asked by anyone else, it lists them all, as botocore does."""

        def __init__(self, search_paths: list[str], file_loader: Any) -> None:
            super().__init__(search_paths, file_loader, include_default_search_paths=False)
            self._loading = threading.local()

        def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
            self._loading.active = True
            try:
                return super().load_service_model(service_name, type_name, api_version)
            finally:
                self._loading.active = False

        def list_available_services(self, type_name: str) -> Any:
            if getattr(self._loading, "active", False):  # only to test one name: see Services
                return Services(self, type_name)
            return super().list_available_services(type_name)

    return QuickLoader


@cache
def client(service: str) -> Any:
    import boto3
    import botocore
    from botocore.config import Config

    # A fixed User-Agent: botocore otherwise rebuilds its structured one twice per request (sanitising every
    # component), measured at ~0.15-0.2 ms of the ~0.5 ms it spends on a GetItem client-side (ADR 0007's bench).
    user_agent = f"telephony-api Boto3/{boto3.__version__} botocore/{botocore.__version__}"  # type: ignore[attr-defined]
    config = Config(retries=_RETRIES, connect_timeout=3, read_timeout=10, tcp_keepalive=True, user_agent=user_agent)
    if service == "dynamodb":
        # DynamoDB checks every request itself (a bad one is a ValidationException, as from any other cause), and
        # the repositories build them from fixed expressions; botocore's walk of each request against the model
        # cost 5-8% of the handlers' own time in an A/B of alternating calls (create, hangup, configure, list).
        config = config.merge(Config(parameter_validation=False))
    with _lock:  # a session is not safe to create clients from in several threads at once (the local stack)
        made = _session().client(service, config=config)
    if service == "dynamodb":
        made.meta.events.register("before-parse.dynamodb", _items_as_sent)
    return made


# DynamoDB's data operations: their JSON on the wire is already what the client returns, items included.
DATA_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "TransactGetItems",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    }
)


def _items_as_sent(
    operation_model: Any, response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Hand a successful data-plane answer over as DynamoDB sent it instead of walking it against the model.

    botocore's JSON parser visits every attribute of every item through the model (for a 25-item Query most
    of the client's time); the wire format of these operations is the same dicts, numbers as strings, except
    binaries, which stay base64 text here (`repositories.dynamo.unmarshal` decodes them). botocore still
    parses an empty body, so the answer keeps its ResponseMetadata; errors are parsed as before.
    """
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not body or operation_model.name not in DATA_OPERATIONS:
        return
    try:
        answer = json.loads(body)
    except ValueError:
        return  # botocore's parser reports it as it always has
    if isinstance(answer, dict):
        customized_response_dict.update(answer)
        response_dict["body"] = b"{}"


def reset() -> None:
    """Forget the session and the clients (tests and benchmarks that change the environment)."""
    client.cache_clear()
    _session.cache_clear()


def dynamodb() -> Any:
    return client("dynamodb")


def stepfunctions() -> Any:
    return client("stepfunctions")


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
