"""The shared botocore session's loader: same models as botocore's own, same refusal of unknown services."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError

from telephony import aws


@pytest.fixture
def loader():
    aws.reset()
    yield aws._session()._session.get_component("data_loader")
    aws.reset()


@pytest.mark.parametrize("service", ["dynamodb", "stepfunctions", "secretsmanager"])
@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1"])
def test_loads_the_models_botocore_loads(loader, service: str, type_name: str) -> None:
    plain = botocore.session.Session().get_component("data_loader")
    assert type(loader) is not type(plain)  # ours is in use
    ours, botocores = loader.load_service_model(service, type_name), plain.load_service_model(service, type_name)
    assert json.dumps(ours) == json.dumps(botocores)  # the same data in the same order


@pytest.mark.parametrize("name", ["endpoints", "partitions", "sdk-default-configuration", "_retry"])
def test_loads_the_data_botocore_loads_as_plain_dicts(loader, name: str) -> None:
    plain = botocore.session.Session().get_component("data_loader")
    ours, botocores = loader.load_data(name), plain.load_data(name)
    assert json.dumps(ours) == json.dumps(botocores)
    assert type(ours) is dict and type(botocores) is not dict  # botocore's are OrderedDicts, slower to decode


def test_the_file_loader_reads_json_then_gzip_then_leaves_the_rest_to_botocore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    files = aws._file_loader_class()()
    (tmp_path / "both.json").write_text('{"from": "json", "b": 1, "a": 2}')
    with gzip.open(tmp_path / "both.json.gz", "wt") as packed:
        packed.write('{"from": "gzip"}')
    with gzip.open(tmp_path / "packed.json.gz", "wt") as packed:
        packed.write('{"z": {"y": [1, "\u00e9"]}, "a": null}')
    assert list(files.load_file(str(tmp_path / "both")).items()) == [("from", "json"), ("b", 1), ("a", 2)]
    assert json.dumps(files.load_file(str(tmp_path / "packed"))) == '{"z": {"y": [1, "\\u00e9"]}, "a": null}'
    assert files.load_file(str(tmp_path / "missing")) is None

    seen: list[str] = []
    monkeypatch.setattr(
        "botocore.loaders.JSONFileLoader.load_file", lambda self, path: seen.append(path) or {"other": "format"}
    )
    assert files.load_file(str(tmp_path / "elsewhere")) == {"other": "format"}  # a format botocore added later
    assert seen == [str(tmp_path / "elsewhere")]


@pytest.mark.parametrize("name", ["nosuchservice", "", "../dynamodb", ".", "dynamodb/2012-08-10"])
def test_an_unknown_service_is_refused_as_botocore_refuses_it(loader, name: str) -> None:
    with pytest.raises(UnknownServiceError) as refused:
        loader.load_service_model(name, "service-2")
    assert "dynamodb" in str(refused.value)  # botocore's message lists the services there are


def test_listing_the_services_still_lists_them_all(loader) -> None:
    plain = botocore.session.Session().get_component("data_loader")
    listed = loader.list_available_services("service-2")
    assert list(listed) == plain.list_available_services("service-2")
    assert len(listed) > 100 and "dynamodb" in listed and "nosuchservice" not in listed
    assert aws._session().get_available_services() == plain.list_available_services("service-2")


def test_loading_a_model_does_not_list_every_service(loader, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.loaders import Loader

    listed: list[str] = []
    botocores = Loader.list_available_services

    def spy(self, type_name: str):  # type: ignore[no-untyped-def]
        listed.append(type_name)
        return botocores(self, type_name)

    monkeypatch.setattr(Loader, "list_available_services", spy)
    loader.load_service_model("dynamodb", "service-2")
    loader.load_service_model("dynamodb", "endpoint-rule-set-1")
    assert listed == []
    with pytest.raises(UnknownServiceError):
        loader.load_service_model("nosuchservice", "service-2")
    assert listed == ["service-2"]  # the refusal's message lists them, as botocore's does


def test_a_loader_that_cannot_be_made_leaves_botocores_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unmakeable:
        def __init__(self, *args: object) -> None:
            raise TypeError("this botocore's Loader takes other arguments")

    aws.reset()
    monkeypatch.setattr(aws, "_loader_class", lambda: Unmakeable)
    try:
        loader = aws._session()._session.get_component("data_loader")
        assert type(loader) is type(botocore.session.Session().get_component("data_loader"))
        assert loader.load_service_model("dynamodb", "service-2")["metadata"]["serviceId"] == "DynamoDB"
    finally:
        aws.reset()


def _botocores_names() -> list[str]:
    """Every event name a plain session and a DynamoDB client run through the aliaser, with the aliases in them."""
    from botocore.hooks import EventAliaser
    from botocore.utils import EVENT_ALIASES

    names: list[str] = []
    aliaser = botocore.session.Session()._events
    names.extend(aliaser._alias_name_cache)
    client = botocore.session.Session().create_client("dynamodb", region_name="us-east-1")
    names.extend(client.meta.events._alias_name_cache)
    for old in EVENT_ALIASES:  # names that must be aliased: as a part, and inside a longer part
        names += [f"before-call.{old}.GetItem", f"creating-client-class.{old}", f"before-call.x{old}.GetItem"]
    names += ["before-call.dynamodb.GetItem", "docs.*.dynamodb.*", "", "."]
    assert len(names) > 150 and isinstance(aliaser, EventAliaser)
    return names


def test_event_names_are_aliased_as_botocore_aliases_them() -> None:
    from botocore.hooks import EventAliaser, HierarchicalEmitter

    names = _botocores_names()
    quick_aliaser = type(aws._session_class()()._events)
    assert quick_aliaser is not EventAliaser and issubclass(quick_aliaser, EventAliaser)
    quick, plain = quick_aliaser(HierarchicalEmitter()), EventAliaser(HierarchicalEmitter())
    assert [quick._alias_event_name(n) for n in names] == [plain._alias_event_name(n) for n in names]
    assert quick._alias_event_name("before-call.apigateway.GetRestApi") == "before-call.api-gateway.GetRestApi"
    assert [quick._alias_event_name(n) for n in names] == [plain._alias_event_name(n) for n in names]  # cached


def test_the_shared_session_aliases_quickly_and_keeps_botocores_handlers(loader) -> None:
    core = aws._session()._session
    quick_aliaser = type(aws._session_class()()._events)
    assert type(core) is aws._session_class() and type(core._events) is quick_aliaser
    plain = boto3.session.Session()._session  # boto3 adds handlers of its own to a session

    def handlers(session: botocore.session.Session, name: str) -> list[str]:
        found = session._original_handler._handlers.prefix_search(session._events._alias_event_name(name))
        return [getattr(h, "__qualname__", type(h).__name__) for h in found]

    names = _botocores_names()
    assert [handlers(core, n) for n in names] == [handlers(plain, n) for n in names]
    assert sum(len(handlers(core, n)) for n in names) > 100
    client = aws.client("dynamodb")
    assert type(client.meta.events) is quick_aliaser  # a client's copy of the session's events
    assert core.get_component("event_emitter") is core._events


def test_an_aliaser_that_cannot_be_put_in_place_leaves_botocores(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.hooks import EventAliaser

    def unmakeable() -> type:
        raise AttributeError("this botocore's session keeps its events elsewhere")

    aws.reset()
    monkeypatch.setattr(aws, "_session_class", unmakeable)
    try:
        core = aws._session()._session
        assert type(core) is botocore.session.Session and type(core._events) is EventAliaser
        assert core.get_component("event_emitter") is core._events
    finally:
        aws.reset()
