"""The HTTP side of every endpoint: authentication context, the API budget, and the one error mapping."""

from __future__ import annotations

import base64
import inspect
import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ValidationError

from telephony.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IdempotencyMismatch,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    UpstreamError,
    UpstreamUnavailable,
)
from telephony.models.principal import Principal, Role
from telephony.observability import count, logger

if TYPE_CHECKING:
    from telephony.services import rate_limits

STATUS: dict[type[DomainError], HTTPStatus] = {
    IdempotencyMismatch: HTTPStatus.UNPROCESSABLE_ENTITY,
    InvalidInput: HTTPStatus.BAD_REQUEST,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    RateLimited: HTTPStatus.TOO_MANY_REQUESTS,
    UpstreamError: HTTPStatus.BAD_GATEWAY,
    UpstreamUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


def status_of(error: DomainError) -> HTTPStatus:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_body(code: str, message: str, request_id: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id, "details": details or []}}


def _limit_headers(error: RateLimited) -> dict[str, str]:
    return {
        "Retry-After": str(error.retry_after),
        "RateLimit-Policy": f'"{error.budget}";q={error.limit};w={error.window_seconds}',
        "RateLimit": f'"{error.budget}";r=0;t={error.retry_after}',
    }


def principal_from_event(event: dict[str, Any]) -> Principal:
    """The caller as the authorizer described it; refuses what the authorizer marked as not authenticated."""
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if not context.get("user_id"):
        raise Unauthenticated(str(context.get("auth_message") or "missing or invalid credentials"))
    principal = Principal.from_context(context)
    if principal.expires_at is not None and principal.expires_at < time.time():
        raise Unauthenticated("the token has expired")
    return principal


# The records below are NamedTuples, not frozen dataclasses: see models/budgets.py.


class Request(NamedTuple):
    """What a handler may read of the request it serves (headers named in lower case, the body as text)."""

    headers: Mapping[str, str]
    body: str
    request_id: str


class Response(NamedTuple):
    """An answer that is not JSON (the Swagger page): returned by a handler as it is."""

    status: int
    content_type: str
    body: str


class Route(NamedTuple):
    """One operation: the handler and what the router hands it, read from its signature once, at import.

    A parameter named `body` is the JSON body validated by its model, one named `query` the query string
    validated by its model, every other one a segment of the path (`/calls/{call_id}`)."""

    method: str
    path: str  # as template.yaml and the OpenAPI document write it
    handler: Callable[..., Any]
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # the return annotation
    path_params: tuple[str, ...]
    pattern: re.Pattern[str]


def route_of(method: str, path: str, status: int, handler: Callable[..., Any]) -> Route:
    signature = inspect.signature(handler, eval_str=True)
    in_path = tuple(re.findall(r"\{(\w+)\}", path))
    models: dict[str, type[BaseModel] | None] = {"body": None, "query": None}
    for name, parameter in signature.parameters.items():
        if name in models:
            models[name] = parameter.annotation
        elif name not in in_path:
            raise TypeError(f"{handler.__name__}: {name} is neither body, query nor a segment of {path}")
    if set(in_path) - set(signature.parameters):
        raise TypeError(f"{handler.__name__} does not take every segment of {path}")
    segments = (f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part) for part in path.split("/"))
    return Route(
        method=method,
        path=path,
        handler=handler,
        status=status,
        body=models["body"],
        query=models["query"],
        response=signature.return_annotation,
        path_params=in_path,
        pattern=re.compile("/".join(segments)),
    )


class Api:
    """The routes of one function: authenticates and spends the caller's API budget, validates the path, query
    and body with the handler's models, and answers JSON; every failure has the one error body.

    State of the request being served is per thread: one event per process on Lambda, many threads in the
    local stack."""

    def __init__(self, *, public: bool = False, agents: bool = False) -> None:
        self.public = public
        self.agents = agents  # an `agent` credential may call this route (DESIGN 3: it posts call events)
        self.routes: list[Route] = []
        self._serving = threading.local()
        if not public:
            # The API budget lives in DynamoDB, so spending it needs botocore (~180 ms to import): imported here,
            # at init, by the functions that authenticate; a public one (the OpenAPI document, Swagger UI)
            # never talks to AWS and does not import it at all.
            from telephony.services import rate_limits

            self._budget = rate_limits

    def get(self, path: str, status_code: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._register("GET", path, status_code)

    def post(self, path: str, status_code: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._register("POST", path, status_code)

    def delete(self, path: str, status_code: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._register("DELETE", path, status_code)

    def _register(self, method: str, path: str, status: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.routes.append(route_of(method, path, status, handler))
            return handler

        return register

    @property
    def principal(self) -> Principal | None:
        return getattr(self._serving, "principal", None)

    @property
    def current_event(self) -> Request:
        return self._serving.request  # type: ignore[no-any-return]

    @property
    def lambda_context(self) -> Any:
        return getattr(self._serving, "context", None)

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_id = str((event.get("requestContext") or {}).get("requestId", ""))
        serving = self._serving
        serving.principal, serving.context = None, context
        usage: rate_limits.Usage | None = None
        document: Any = None  # the JSON body, parsed once
        try:
            if not self.public:
                principal = serving.principal = principal_from_event(event)
                usage = self._budget.consume_api(principal)  # refused requests count too, and say what is left
                if principal.role is Role.AGENT and not self.agents:
                    raise Forbidden("an agent key may only post the events of its owner's calls")
                document = _json_body(event)
            response = self._serve(event, request_id, document)
        except DomainError as error:
            response = _error_response(error, request_id)
        except Exception:
            logger().exception("unhandled error")
            response = _error_response(DomainError("an unexpected error occurred"), request_id)
        finally:
            serving.principal = serving.context = serving.request = None
        if usage is not None:
            for name, value in usage.headers().items():
                response["headers"].setdefault(name, value)
        return response

    def _serve(self, event: dict[str, Any], request_id: str, document: Any) -> dict[str, Any]:
        method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
        path = str(event.get("rawPath") or "/")
        for route in self.routes:
            found = route.pattern.fullmatch(path) if route.method == method else None
            if found is not None:
                break
        else:
            raise NotFound("no such route")
        body = _text(event)
        self._serving.request = Request(
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            body=body,
            request_id=request_id,
        )
        arguments: dict[str, Any] = found.groupdict()
        problems: list[dict[str, Any]] = []
        if route.query is not None:
            arguments["query"] = _validated(route.query, event.get("queryStringParameters") or {}, "query", problems)
        if route.body is not None:
            if body:
                if document is None:  # a public route's body is not read before routing
                    document = _json_body(event)
                arguments["body"] = _validated(route.body, document, "body", problems)
            else:
                problems.append({"field": "body", "issue": "Field required"})
        if problems:
            raise InvalidInput("the request is not valid", details=problems)
        return _answer(route.status, route.handler(**arguments))


def _validated(model: type[BaseModel], value: Any, where: str, problems: list[dict[str, Any]]) -> Any:
    """The value as the model reads it; its errors, if any, are added to `problems` (`field` is a dotted
    path: `to_number`, `sip_trunk.auth_username`, `query.limit`; `body` for the body as a whole)."""
    try:
        return model.model_validate(value)
    except ValidationError as invalid:
        for error in invalid.errors(include_url=False, include_input=False):
            place = [str(p) for p in error["loc"]]
            field = ".".join(place if where == "body" else [where, *place])
            problems.append({"field": field or where, "issue": error["msg"]})
        return None


def _text(event: dict[str, Any]) -> str:
    body = event.get("body") or ""
    if body and event.get("isBase64Encoded"):
        # A JSON body was checked by _json_body; the webhook's is checked against its signature, which
        # bytes that are not UTF-8 (replaced here) cannot match: 401, as for any body LiveKit did not sign.
        return base64.b64decode(body).decode(errors="replace")
    return str(body)


def _answer(status: int, result: Any) -> dict[str, Any]:
    if isinstance(result, Response):
        status, content_type, body = result.status, result.content_type, result.body
    else:
        content_type = "application/json"
        body = result.model_dump_json() if isinstance(result, BaseModel) else json.dumps(result, separators=(",", ":"))
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body, "isBase64Encoded": False}


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _json_body(event: Any) -> Any:
    """The body as standard JSON only (None without one), read before any handler: NaN, Infinity, numbers
    that overflow to infinity, invalid UTF-8 and nesting deeper than the parser's recursion limit are a 400,
    not a 500."""
    body = event.get("body")
    if not body:
        return None
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
        return json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError and binascii.Error are ValueErrors
        raise InvalidInput("the body is not valid JSON", details=[{"field": "body", "issue": "invalid_json"}]) from None


def _error_response(error: DomainError, request_id: str) -> dict[str, Any]:
    status = status_of(error)
    if status >= 500:
        logger().warning("request failed", extra={"error": error.code, "reason": error.message})
    headers = {"Content-Type": "application/json"}
    if isinstance(error, RateLimited):
        count("RateLimitHits")
        headers.update(_limit_headers(error))
    return {
        "statusCode": status.value,
        "headers": headers,
        "body": json.dumps(error_body(error.code, error.message, request_id, error.details)),
        "isBase64Encoded": False,
    }


def make_app(*, public: bool = False, agents: bool = False) -> Api:
    return Api(public=public, agents=agents)


def current_principal(app: Api) -> Principal:
    if app.principal is None:
        raise Unauthenticated("missing or invalid credentials")
    return app.principal
