"""A local HTTP API gateway built from the template's HttpApi routes: what `sam local start-api`
does, without containers. Requests become API Gateway v2 events; the authorizer runs first (with
its result cached per identity header, like API Gateway), and its context reaches the handler.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.runtime import Runtime
from local.template import ACCOUNT, REGION, Stack

MAX_BODY = 10 * 1024 * 1024  # HTTP API's payload limit
MAX_HEAD = 10240  # HTTP API's quota on the request line and header values together
BODY_TIMEOUT = 5.0  # seconds a client may pause while sending the body it announced
API_ID = "local"

Reply = tuple[int, dict[str, str], bytes]

_log = logging.getLogger("local.gateway")


def _json_reply(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class _Bucket:
    """A token bucket, as API Gateway throttles a route: `burst` requests at once, refilled at `rate` a second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


@dataclass
class Route:
    method: str
    path: str
    function: str
    public: bool
    pattern: re.Pattern[str]
    static_segments: int

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @classmethod
    def build(cls, method: str, path: str, function: str, public: bool) -> Route:
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        static = sum(1 for seg in path.split("/") if seg and "{" not in seg)
        return cls(method, path, function, public, re.compile(f"^{regex}$"), static)


class Gateway:
    def __init__(
        self, stack: Stack, runtime: Runtime, local_routes: dict[str, Callable[[str], Any]] | None = None
    ) -> None:
        """`local_routes`: what the local stack serves beside the template's routes, by path prefix: a callable
        taking the path and giving a Reply, a JSON document, or None (404)."""
        self.runtime = runtime
        self.routes = sorted(
            (Route.build(m, p, f.logical_id, public) for f in runtime.functions.values() for m, p, public in f.routes),
            key=lambda r: (-r.static_segments, r.path),
        )
        self.authorizer = stack.authorizer()
        throttle = stack.throttling()
        self._buckets = {r.key: _Bucket(throttle.rate, throttle.burst) for r in self.routes} if throttle else {}
        self.local_routes = local_routes or {}
        self._cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def route_table(self) -> list[tuple[str, str, str, bool]]:
        return [(r.method, r.path, r.function, r.public) for r in self.routes]

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in (method, "ANY"):
                continue
            found = route.pattern.match(path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def _request_context(self, method: str, path: str, route_key: str, headers: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "127",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }

    def _authorize(self, route: Route, event: dict[str, Any]) -> tuple[Reply | None, dict[str, Any] | None]:
        spec = self.authorizer
        if spec is None or route.public:
            return None, None
        identity = [event["headers"].get(h) for h in spec.identity_headers]
        if any(not v for v in identity):
            return _json_reply(401, {"message": "Unauthorized"}), None
        key = tuple(v or "" for v in identity)
        now = time.time()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached and cached[0] > now:
            answer = cached[1]
        else:
            auth_event = {
                "version": "2.0",
                "type": "REQUEST",
                "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{route.method}{route.path}",
                "identitySource": list(key),
                "routeKey": event["routeKey"],
                "rawPath": event["rawPath"],
                "rawQueryString": event["rawQueryString"],
                "headers": event["headers"],
                "queryStringParameters": event.get("queryStringParameters"),
                "pathParameters": event.get("pathParameters"),
                "requestContext": event["requestContext"],
            }
            try:
                answer = self.runtime.invoke(spec.function, auth_event)
            except Exception:
                return _json_reply(500, {"message": "Internal Server Error"}), None
            if spec.cache_ttl > 0:
                with self._cache_lock:
                    self._cache[key] = (now + spec.cache_ttl, answer)
        if not answer.get("isAuthorized"):
            return _json_reply(403, {"message": "Forbidden"}), None
        return None, {"lambda": answer.get("context") or {}}

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        if len(method) + len(target) + len("HTTP/1.1") + 2 + sum(len(v) for v in headers.values()) > MAX_HEAD:
            return _json_reply(413, {"message": "Request Entity Too Large"})
        url = urlsplit(target)
        path = url.path or "/"
        for prefix, serve in self.local_routes.items():
            if path.startswith(prefix):
                found = serve(path)
                if found is None:
                    return _json_reply(404, {"message": "Not Found"})
                return found if isinstance(found, tuple) else _json_reply(200, found)
        if len(body) > MAX_BODY:
            return _json_reply(413, {"message": "Request Entity Too Large"})
        matched = self._match(method, path)
        if matched is None:
            return _json_reply(404, {"message": "Not Found"})
        route, path_parameters = matched
        bucket = self._buckets.get(route.key)
        if bucket is not None and not bucket.take():  # the stage refuses it before the authorizer or the function
            return _json_reply(429, {"message": "Too Many Requests"})
        lowered = {k.lower(): v for k, v in headers.items()}
        query: dict[str, str] = {}
        for name, value in parse_qsl(url.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        try:
            text, encoded = body.decode(), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        route_key = f"{route.method} {route.path}"
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": url.query,
            "headers": lowered,
            "requestContext": self._request_context(method, path, route_key, lowered),
            "isBase64Encoded": encoded,
        }
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if body:
            event["body"] = text
        refused, authorizer = self._authorize(route, event)
        if refused:
            return refused
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        try:
            result = self.runtime.invoke(route.function, event)
        except Exception:  # a function error: API Gateway answers 500; the traceback is what one would debug
            _log.exception("%s failed", route.function)
            return _json_reply(500, {"message": "Internal Server Error"})
        return _to_reply(result)

    def serve(self, host: str = "127.0.0.1", port: int = 3000) -> ThreadingHTTPServer:
        server = _Server((host, port), _handler_for(self))
        threading.Thread(target=server.serve_forever, name="gateway", daemon=True).start()
        return server


def _to_reply(result: Any) -> Reply:
    if not isinstance(result, dict) or "statusCode" not in result:
        return _json_reply(200, result)
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    for cookie in result.get("cookies") or []:
        headers.setdefault("Set-Cookie", cookie)
    return int(result["statusCode"]), headers, body


def _content_length(value: str | None) -> int | None:
    """The announced body's length; None when it is not a length (API Gateway answers 400 Bad Request)."""
    if value is None:
        return 0
    value = value.strip()
    return int(value) if value.isdigit() else None


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of clients overflowed it and saw their connections reset
    # or dropped. The kernel caps this at net.core.somaxconn.
    request_queue_size = 1024
    daemon_threads = True


def _handler_for(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The head and the body of an answer are two writes: with Nagle's algorithm on, the body waited for the
        # client's delayed ACK of the head on a kept-alive connection (~40 ms an answer on Linux).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = _content_length(self.headers.get("Content-Length"))
            if length is None:
                status, headers, body = _json_reply(400, {"message": "Bad Request"})
                self.close_connection = True
            elif length > MAX_BODY:
                status, headers, body = _json_reply(413, {"message": "Request Entity Too Large"})
                self.close_connection = True
            else:
                data = self._body(length)
                if data is None:  # the body did not come: what follows on this connection cannot be read either
                    status, headers, body = _json_reply(400, {"message": "Bad Request"})
                    self.close_connection = True
                else:
                    merged: dict[str, str] = {}
                    for name, value in self.headers.items():
                        key = name.lower()
                        merged[key] = f"{merged[key]},{value}" if key in merged else value
                    status, headers, body = gateway.handle(self.command, self.path, merged, data)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up first (a sender's timeout)
                self.close_connection = True
                _log.warning("%s %s: the client left before its %d answer", self.command, self.path, status)

        def _body(self, length: int) -> bytes | None:
            """The announced body, or None when the client stops sending it for BODY_TIMEOUT seconds (a worker
            would otherwise wait for the client's own timeout, or forever)."""
            if not length:
                return b""
            self.connection.settimeout(BODY_TIMEOUT)
            try:
                return self.rfile.read(length)
            except TimeoutError:
                return None
            finally:
                self.connection.settimeout(None)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):  # any other method (TRACE, QUERY, ...): no route has it, so a 404
                return self._serve
            raise AttributeError(name)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
