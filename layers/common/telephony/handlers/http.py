"""The HTTP side of every endpoint: authentication context, the API budget, and the one error mapping."""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

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
from telephony.models.auth import Principal, Role
from telephony.observability import count, logger
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
    principal = Principal.model_validate(context)
    if principal.expires_at is not None and principal.expires_at < time.time():
        raise Unauthenticated("the token has expired")
    return principal


class Api(APIGatewayHttpResolver):
    """An HTTP API resolver that authenticates and spends the caller's API budget before routing."""

    def __init__(self, *, public: bool = False, agents: bool = False) -> None:
        super().__init__(enable_validation=True)
        self.public = public
        self.agents = agents  # an `agent` credential may call this route (DESIGN 3: it posts call events)
        self._caller = threading.local()  # one event per process on Lambda; per thread in the local stack
        self._register_error_handlers()

    @property
    def principal(self) -> Principal | None:
        return getattr(self._caller, "principal", None)

    @principal.setter
    def principal(self, value: Principal | None) -> None:
        self._caller.principal = value

    def _request_id(self) -> str:
        return str(self.current_event.request_context.request_id or "")

    def _error(self, status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return Response(
            status_code=status.value,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(body),
            headers=headers,
        )

    def _domain_error(self, error: DomainError) -> Response:
        status = status_of(error)
        if status >= 500:
            logger().warning("request failed", extra={"error": error.code, "reason": error.message})
        headers = None
        if isinstance(error, RateLimited):
            count("RateLimitHits")
            headers = _limit_headers(error)
        return self._error(status, error_body(error.code, error.message, self._request_id(), error.details), headers)

    def _register_error_handlers(self) -> None:
        @self.exception_handler(DomainError)
        def _domain(error: DomainError) -> Response:
            return self._domain_error(error)

        @self.exception_handler(RequestValidationError)
        def _invalid(error: RequestValidationError) -> Response:
            details = [
                {
                    "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                    "issue": e.get("msg", ""),
                }
                for e in error.errors()
            ]
            return self._error(
                HTTPStatus.BAD_REQUEST,
                error_body("invalid_request", "the request is not valid", self._request_id(), details),
            )

        @self.not_found
        def _no_route(_: Exception) -> Response:
            return self._error(HTTPStatus.NOT_FOUND, error_body("not_found", "no such route", self._request_id()))

        @self.exception_handler(Exception)
        def _bug(error: Exception) -> Response:
            logger().exception("unhandled error")
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                error_body("internal_error", "an unexpected error occurred", self._request_id()),
            )

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        usage: rate_limits.Usage | None = None
        self.principal = None
        if not self.public:
            try:
                self.principal = principal_from_event(event)
                if self.principal.role is Role.AGENT and not self.agents:
                    raise Forbidden("an agent key may only post the events of its owner's calls")
                usage = rate_limits.consume_api(self.principal)
            except DomainError as error:
                request_id = str((event.get("requestContext") or {}).get("requestId", ""))
                return _error_response(error, request_id)
        invalid = None if self.public else _invalid_json(event)
        if invalid is not None:
            response = _error_response(invalid, str((event.get("requestContext") or {}).get("requestId", "")))
        else:
            response = super().resolve(_as_json(event), context)
        if usage is not None:
            headers = response.setdefault("headers", {})
            for name, value in usage.headers().items():
                headers.setdefault(name, value)
        return response


def _as_json(event: Any) -> Any:
    """Bodies are JSON whatever the client claims (curl -d says form-urlencoded); a non-JSON body is a 400."""
    headers = event.get("headers") or {}
    if event.get("body") and "json" not in str(headers.get("content-type", "")):
        event = {**event, "headers": {**headers, "content-type": "application/json"}}
    return event


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _invalid_json(event: Any) -> InvalidInput | None:
    """Standard JSON only, checked before any handler parses it: NaN, Infinity, numbers that overflow to
    infinity, invalid UTF-8 and nesting deeper than the parser's recursion limit are a 400, not a 500."""
    body = event.get("body")
    if not body:
        return None
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
        json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError and binascii.Error are ValueErrors
        return InvalidInput("the body is not valid JSON", details=[{"field": "body", "issue": "invalid_json"}])
    return None


def _error_response(error: DomainError, request_id: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if isinstance(error, RateLimited):
        count("RateLimitHits")
        headers.update(_limit_headers(error))
    return {
        "statusCode": status_of(error).value,
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
