"""The HTTP side of every endpoint: Powertools' resolver with the caller from the authorizer, the API budget, the
strict JSON body, and the one error mapping (docs/adr/0016-routes-declared-once.md)."""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import math
import re
import time
import typing
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel

from telephony.errors import (
    ConcurrencyLimit,
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
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

    from telephony.services import rate_limits

STATUS: dict[type[DomainError], HTTPStatus] = {
    IdempotencyMismatch: HTTPStatus.UNPROCESSABLE_ENTITY,
    InvalidInput: HTTPStatus.BAD_REQUEST,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    RateLimited: HTTPStatus.TOO_MANY_REQUESTS,
    ConcurrencyLimit: HTTPStatus.TOO_MANY_REQUESTS,
    UpstreamError: HTTPStatus.BAD_GATEWAY,
    UpstreamUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}

JSON = "application/json"


def status_of(error: DomainError) -> HTTPStatus:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_body(code: str, message: str, request_id: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id, "details": details or []}}


def principal_from_event(event: Mapping[str, Any]) -> Principal:
    """The caller as the authorizer described it; refuses what the authorizer marked as not authenticated."""
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if not context.get("user_id"):
        raise Unauthenticated(str(context.get("auth_message") or "missing or invalid credentials"))
    principal = Principal.from_context(context)
    if principal.expires_at is not None and principal.expires_at < time.time():
        raise Unauthenticated("the token has expired")
    return principal


# ---------------------------------------------------------------- the body: standard JSON only


def _not_json() -> InvalidInput:
    return InvalidInput("the body is not valid JSON", details=[{"field": "body", "issue": "invalid_json"}])


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def strict_json(text: str | bytes) -> Any:
    """Standard JSON only: NaN, Infinity, numbers that overflow to infinity, invalid UTF-8 and nesting deeper than
    the parser's recursion limit are a 400, not a 500 (nor values nobody can store or send on)."""
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_finite)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _not_json() from None


def _check_body(event: Mapping[str, Any]) -> None:
    """Every authenticated request's body, if it has one, is standard JSON, read before routing (Powertools reads
    it only for a route that takes a body, and decodes a base64 one without a check of its UTF-8)."""
    body = event.get("body")
    if not body:
        return
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
    except binascii.Error:
        raise _not_json() from None
    strict_json(raw)


def _check_content_type(event: Mapping[str, Any]) -> None:
    """A route that takes a JSON body takes it as JSON only: Powertools would read a form or a multipart body as
    such (and fail on a multipart one without a boundary)."""
    content_type = str((event.get("headers") or {}).get("content-type") or "").strip()
    if content_type and not content_type.startswith(JSON):  # as Powertools tells JSON from the rest
        issue = "the body must be JSON (Content-Type: application/json)"
        raise InvalidInput("the request is not valid", details=[{"field": "body", "issue": issue}])


def _takes_body(handler: Callable[..., Any]) -> bool:
    """Whether Powertools reads the request's body for this handler: a parameter marked `Body()`, or a model that
    is not marked as anything else."""
    for name, hint in typing.get_type_hints(handler, include_extras=True).items():
        if name == "return":
            continue
        if typing.get_origin(hint) is typing.Annotated:
            if any(isinstance(mark, Body) for mark in typing.get_args(hint)[1:]):
                return True
        elif inspect.isclass(hint) and issubclass(hint, BaseModel):
            return True
    return False


# ---------------------------------------------------------------- the resolver


class Api(APIGatewayHttpResolver):
    """One function's route, served by Powertools with our contract around it: the caller authenticated and its
    API budget spent before anything else (refused requests count too), agent keys refused unless the route
    takes them, every answer to an authenticated request with the budget's RateLimit headers, and every failure
    in the one error body.

    Powertools keeps the event being served on its BaseRouter class, one per process, which is all Lambda runs;
    here it is held by the resolver itself, so that resolvers loaded side by side (the local stack's containers,
    local/runtime.py) each serve their own."""

    def __init__(self, *, public: bool = False, agents: bool = False) -> None:
        # debug off whatever POWERTOOLS_DEV says: in debug mode Powertools prints every event, credentials included
        super().__init__(enable_validation=True, json_body_deserializer=strict_json, debug=False)
        self.public = public
        self.agents = agents  # an `agent` credential may call this route (it posts its owner's call events)
        self.declared: list[tuple[str, str, Callable[..., Any]]] = []  # (method, path as OpenAPI writes it, handler)
        self.takes_body = False  # its route takes a JSON body (a function has one route)
        self._event: APIGatewayProxyEventV2 | None = None
        self._context: Any = None
        if not public:
            # The API budget lives in DynamoDB: imported by the functions that authenticate, never by a public one
            # (the OpenAPI document, Swagger UI, LiveKit's webhook).
            from telephony.services import rate_limits

            self._budget = rate_limits
        self.exception_handler(RequestValidationError)(self._invalid_request)
        self.exception_handler(NotFoundError)(self._no_route)
        self.exception_handler(DomainError)(self._refused)
        self.exception_handler(Exception)(self._failed)

    # -------------------------------------------------------------- the request being served, per resolver

    @property  # type: ignore[override]
    def current_event(self) -> APIGatewayProxyEventV2:
        if self._event is None:
            raise RuntimeError("no request is being served")
        return self._event

    @current_event.setter
    def current_event(self, value: APIGatewayProxyEventV2) -> None:
        self._event = value

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        return self._context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._context = value

    @property
    def request_id(self) -> str:
        return str((self.current_event.get("requestContext") or {}).get("requestId", ""))

    # -------------------------------------------------------------- serving

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self.current_event = APIGatewayProxyEventV2(dict(event), strict_json)
        self.lambda_context = context
        usage: rate_limits.Usage | None = None
        try:
            if not self.public:
                principal = principal_from_event(event)
                usage = self._budget.consume_api(principal)
                if principal.role is Role.AGENT and not self.agents:
                    raise Forbidden("an agent key may only post the events of its owner's calls")
                _check_body(event)
                self.append_context(principal=principal)
            if self.takes_body:
                _check_content_type(event)
            answer = super().resolve(event, context)
        except DomainError as error:
            self.clear_context()
            answer = self._answer(self._refused(error))
        except Exception as error:  # raised outside the route (its own failures are answered by _failed)
            self.clear_context()
            answer = self._answer(self._failed(error))
        if usage is not None:
            headers = answer.setdefault("headers", {})
            for name, value in usage.headers().items():
                headers.setdefault(name, value)
        return answer

    @staticmethod
    def _answer(response: Response) -> dict[str, Any]:
        """An answer made before Powertools' resolver ran, shaped as its answers are (payload format 2.0)."""
        headers = {
            name: value if isinstance(value, str) else ", ".join(value) for name, value in response.headers.items()
        }
        return {
            "statusCode": response.status_code,
            "body": response.body,
            "isBase64Encoded": False,
            "headers": headers,
            "cookies": [],
        }

    def _error(self, status: int, error: DomainError, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(error_body(error.code, error.message, self.request_id, error.details))
        return Response(int(status), JSON, body, headers=headers)

    def _refused(self, error: DomainError) -> Response:
        status = status_of(error)
        if status >= 500:
            logger().warning("request failed", extra={"error": error.code, "reason": error.message})
        headers = None
        if isinstance(error, RateLimited):
            count("RateLimitHits")
            headers = {
                "Retry-After": str(error.retry_after),
                "RateLimit-Policy": f'"{error.budget}";q={error.limit};w={error.window_seconds}',
                "RateLimit": f'"{error.budget}";r=0;t={error.retry_after}',
            }
        elif isinstance(error, ConcurrencyLimit):
            count("RateLimitHits")
            headers = {"Retry-After": str(error.retry_after)}
        return self._error(status, error, headers)

    def _failed(self, error: Exception) -> Response:
        logger().exception("unhandled error", exc_info=error)
        return self._error(500, DomainError("an unexpected error occurred"))

    def _no_route(self, error: NotFoundError) -> Response:
        return self._error(404, NotFound("no such route"))

    def _invalid_request(self, error: RequestValidationError) -> Response:
        if any(str(e["loc"][0]) == "response" for e in error.errors()):  # Powertools' check of what we answer
            return self._failed(error)
        problems = [{"field": _field(e["loc"]), "issue": e["msg"]} for e in error.errors()]
        return self._error(400, InvalidInput("the request is not valid", details=problems))

    # -------------------------------------------------------------- declaring a route

    def route(  # type: ignore[override]
        self,
        rule: str,
        method: Any,
        cors: bool | None = None,
        compress: bool = False,
        cache_control: str | None = None,
        summary: str | None = None,
        description: str | None = None,
        responses: dict[int, OpenAPIResponse] | None = None,
        response_description: str | None = None,
        tags: list[str] | None = None,
        operation_id: str | None = None,
        include_in_schema: bool = True,
        security: list[dict[str, list[str]]] | None = None,
        openapi_extensions: dict[str, Any] | None = None,
        deprecated: bool = False,
        enable_validation: bool | None = None,
        custom_response_validation_http_code: Any = None,
        status_code: int = 200,
        middlewares: list[Callable[..., Any]] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Powertools' route, documented from the declaration itself: operationId is the function's name (its
        folder's), summary and description its docstring, and its answers those of every route of this kind (the
        success with the RateLimit headers, 400 when it takes input, 401/403/429/503 when authenticated, 413)
        plus the `responses` it names (`errors(404, 409)`)."""
        from telephony.openapi import responses as documented

        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            head, _, rest = (inspect.getdoc(handler) or "").partition("\n\n")
            takes_input = any(f"<{name}>" not in rule for name in inspect.signature(handler).parameters)
            answers = documented.answers(status_code, responses or {}, public=self.public, takes_input=takes_input)
            self.declared.append((str(method).upper(), re.sub(r"<(\w+)>", r"{\1}", rule), handler))
            self.takes_body = self.takes_body or _takes_body(handler)
            return super(Api, self).route(
                rule,
                method,
                cors,
                compress,
                cache_control,
                summary or " ".join(head.split()) or None,
                description or " ".join(rest.split()) or None,
                answers,
                response_description or "",
                tags,
                operation_id or handler.__name__,
                include_in_schema,
                security,
                openapi_extensions,
                deprecated,
                enable_validation,
                custom_response_validation_http_code,
                status_code,
                middlewares,
            )(handler)

        return register


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """A validation error's place as `details` names it: body fields without a prefix (`phone_number`,
    `sip_trunk.auth_username`), `body` for the body as a whole, `query.<name>`, `header.<name>`. A query model's
    own name (`query` in `query: Annotated[CallsQuery, Query()]`) is not part of a parameter's."""
    where, *place = (str(part) for part in loc)
    if where == "query" and len(place) > 1:
        place = place[1:]
    if where == "body":
        return ".".join(place) or "body"
    return ".".join([where, *place])


def make_app(*, public: bool = False, agents: bool = False) -> Api:
    return Api(public=public, agents=agents)


def current_principal(app: Api) -> Principal:
    principal = app.context.get("principal")
    if not isinstance(principal, Principal):
        raise Unauthenticated("missing or invalid credentials")
    return principal


def raw_body(app: Api) -> str:
    """The body as sent, for a route that reads it itself (LiveKit's signed webhook). Bytes that are not UTF-8 are
    replaced: a signature over the body they were cannot match, so the route refuses it as unsigned."""
    event = app.current_event
    body = event.body or ""
    if body and event.is_base64_encoded:
        return base64.b64decode(body).decode(errors="replace")
    return body
