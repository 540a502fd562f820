"""HTTP layer: livekit-server's middleware + Twirp routing to the services' handlers, and the control API."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from google.protobuf import message as pb_message
from google.protobuf.json_format import MessageToJson, Parse, ParseError

from .auth import AuthFailure, authenticate
from .services import REGISTRY
from .twirp import TwirpError, bad_route, go_quote

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger("livekit_emulator")

TWIRP_PREFIX = "/twirp"
CONTROL_PREFIX = "/_emulator/"
MAX_BODY = 10 * 1024 * 1024


class _Response:
    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def _twirp_error(err: TwirpError) -> _Response:
    return _Response(err.status, err.body(), "application/json")


def _plain(status: int, text: str) -> _Response:
    return _Response(status, text.encode("utf-8"), "text/plain; charset=utf-8")


def _json(status: int, obj: Any) -> _Response:
    return _Response(status, json.dumps(obj).encode("utf-8"), "application/json")


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    def serve_in_background(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="livekit-emulator-http", daemon=True
        )
        self._thread.start()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "livekit-emulator"
    sys_version = ""
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    # ------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, resp: _Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(_plain(413, "request body too large"))
            return
        url = urlsplit(self.path)
        try:
            if url.path.startswith(CONTROL_PREFIX):
                resp = self._control(url.path, body)
            else:
                resp = self._livekit(url.path, url.query, body)
        except Exception:
            log.exception("emulator request failed: %s %s", self.command, self.path)
            resp = _twirp_error(TwirpError("internal", "emulator failure"))
        self._send(resp)

    # ------------------------------------------------------------------ LiveKit API

    def _livekit(self, path: str, query: str, body: bytes) -> _Response:
        emulator = self.server.emulator
        tokens = parse_qs(query).get("access_token")
        query_token = tokens[0] if tokens else None
        try:
            grants = authenticate(
                self.headers.get("Authorization"), query_token, {emulator.api_key: emulator.api_secret}
            )
        except AuthFailure as e:
            return _plain(401, e.message)

        if not path.startswith(TWIRP_PREFIX + "/"):
            if path == "/":
                return _plain(200, "OK")
            return _plain(404, "404 page not found\n")
        service_path = path[len(TWIRP_PREFIX) + 1 :].split("/", 1)[0]
        service = REGISTRY.get(service_path)
        if service is None:
            # http.ServeMux has no route for it: plain 404, not a Twirp error
            return _plain(404, "404 page not found\n")

        if self.command != "POST":
            return _twirp_error(
                bad_route(f"unsupported method {go_quote(self.command)} (only POST is allowed)", self.command, path)
            )
        parts = path.split("/")
        method, pkg_service, prefix = parts[-1], parts[-2], "/".join(parts[:-2])
        if pkg_service != service_path:
            return _twirp_error(bad_route(f"no handler for path {go_quote(path)}", self.command, path))
        if prefix != TWIRP_PREFIX:
            return _twirp_error(
                bad_route(
                    f"invalid path prefix {go_quote(prefix)}, expected {go_quote(TWIRP_PREFIX)}, "
                    f"on path {go_quote(path)}",
                    self.command,
                    path,
                )
            )
        if method not in service.requests:
            return _twirp_error(bad_route(f"no handler for path {go_quote(path)}", self.command, path))
        content_type_header = self.headers.get("Content-Type") or ""
        content_type = content_type_header.split(";", 1)[0].strip().lower()
        if content_type not in ("application/json", "application/protobuf"):
            return _twirp_error(
                bad_route(f"unexpected Content-Type: {go_quote(content_type_header)}", self.command, path)
            )
        use_json = content_type == "application/json"
        req_cls = service.requests[method]
        try:
            if use_json:
                req = Parse(body.decode("utf-8"), req_cls(), ignore_unknown_fields=True)
            else:
                req = req_cls()
                req.ParseFromString(body)
        except (ParseError, pb_message.DecodeError, UnicodeDecodeError, ValueError):
            kind = "json" if use_json else "protobuf"
            return _twirp_error(TwirpError("malformed", f"the {kind} request could not be decoded"))

        runtime = emulator.runtime
        runtime.count(method)
        fault = runtime.take_fault(method)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000.0)
            return _twirp_error(fault.error())
        handler = service.handlers.get(method)
        if handler is None:
            return _twirp_error(
                TwirpError("unimplemented", f"{pkg_service}.{method} is not implemented by the LiveKit emulator")
            )
        try:
            result = handler(runtime, grants, req)
        except TwirpError as e:
            return _twirp_error(e)
        if use_json:
            out = MessageToJson(
                result, preserving_proto_field_name=True, always_print_fields_with_no_presence=True, indent=None
            ).encode("utf-8")
            return _Response(200, out, "application/json")
        return _Response(200, result.SerializeToString(), "application/protobuf")

    # ------------------------------------------------------------------ control API

    def _control(self, path: str, body: bytes) -> _Response:
        emulator = self.server.emulator
        name = path[len(CONTROL_PREFIX) :].rstrip("/")
        if self.command == "GET":
            if name == "health":
                return _json(200, {"status": "ok"})
            if name == "state":
                return _json(200, emulator.state())
            return _json(404, {"error": f"unknown control endpoint GET {path}"})
        if self.command != "POST":
            return _json(405, {"error": "use GET or POST"})
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return _json(400, {"error": "body must be JSON"})
        if not isinstance(payload, dict):
            return _json(400, {"error": "body must be a JSON object"})
        try:
            return self._control_post(emulator, name, payload)
        except (ValueError, TypeError) as e:
            return _json(400, {"error": str(e)})

    def _control_post(self, emulator: Emulator, name: str, payload: dict[str, Any]) -> _Response:
        if name == "reset":
            emulator.reset()
            return _json(200, {"ok": True})
        if name == "outcomes":
            spec = emulator.set_outcome(
                _str(payload, "number", required=True),
                _str(payload, "outcome", required=True),
                after_ms=_int(payload, "after_ms"),
                talk_ms=_int(payload, "talk_ms"),
                sip_code=_int(payload, "sip_code"),
                sip_status=_str(payload, "sip_status"),
                times=_int(payload, "times"),
            )
            return _json(200, {"ok": True, "number": payload["number"], **spec.as_dict()})
        if name == "hangup":
            room = _str(payload, "room", required=True)
            n = emulator.hangup(room, _str(payload, "identity"))
            if n == 0:
                return _json(404, {"error": f"no SIP call in room {room!r}"})
            return _json(200, {"ok": True, "calls": n})
        if name == "inbound":
            placed = emulator.place_inbound(
                _str(payload, "from", required=True),
                _str(payload, "to", required=True),
                source_ip=_str(payload, "source_ip") or "",
                caller_host=_str(payload, "from_host") or "",
                pin=_str(payload, "pin") or "",
                answer_after_ms=_int(payload, "answer_after_ms"),
                talk_ms=_int(payload, "talk_ms"),
            )
            return _json(200, {"ok": placed["result"] == "accepted", **placed})
        if name == "faults":
            meta = payload.get("meta")
            if meta is not None and not (
                isinstance(meta, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
            ):
                raise ValueError("meta must be an object of strings")
            times = _int(payload, "times")
            fault = emulator.add_fault(
                _str(payload, "method", required=True),
                _str(payload, "code", required=True),
                times=1 if times is None else times,
                msg=_str(payload, "msg"),
                meta=meta,
                delay_ms=_int(payload, "delay_ms") or 0,
            )
            return _json(200, {"ok": True, "method": payload["method"], **fault.as_dict()})
        if name == "config":
            departure, hangup = _int(payload, "departure_timeout_ms"), _int(payload, "transfer_hangup_ms")
            emulator.configure(
                departure_timeout=None if departure is None else departure / 1000.0,
                transfer_hangup_delay=None if hangup is None else hangup / 1000.0,
            )
            return _json(200, {"ok": True, **emulator.state()["config"]})
        if name == "webhook":
            url = payload.get("url")
            if url is not None and not isinstance(url, str):
                raise ValueError("url must be a string or null")
            emulator.webhook_url = url or None
            return _json(200, {"ok": True, "url": emulator.webhook_url})
        if name == "webhooks/flush":
            timeout = payload.get("timeout", 5)
            if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
                raise ValueError("timeout must be a number")
            done = emulator.flush_webhooks(float(timeout))
            return _json(200 if done else 504, {"ok": done})
        return _json(404, {"error": f"unknown control endpoint POST {CONTROL_PREFIX}{name}"})


def _str(payload: dict[str, Any], key: str, required: bool = False) -> Any:
    value = payload.get(key)
    if value is None:
        if required:
            raise ValueError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _int(payload: dict[str, Any], key: str) -> Any:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    return value
