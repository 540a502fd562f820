"""The webhook sender against real receivers on 127.0.0.1: plain HTTP (the local stack's loopback mode), and TLS with a
certificate made here for hooks.example.test, reached through an injected resolver. No test sends anywhere but
127.0.0.1 and none looks up a name in DNS: `network` refuses both and records what was tried."""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from telephony import signing
from telephony.errors import InvalidInput
from telephony.integrations import webhook_http
from telephony.integrations.webhook_http import Result, check, is_public, post

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
HOOKS = "hooks.example.test"


# ---------------------------------------------------------------- a guard: 127.0.0.1 only, no DNS


@dataclass
class Network:
    connects: list[Any] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    """Every connect and name lookup the code under test makes from the test's thread: connects go to 127.0.0.1
    only (others fail as refused, without a packet); lookups of anything but an address or localhost fail as unknown
    names."""
    seen = Network()
    real_connect = socket.socket.connect
    real_lookup = socket.getaddrinfo
    owner = threading.get_ident()  # post() sends from the calling thread

    def connect(self: socket.socket, address: Any) -> None:
        if threading.get_ident() != owner:  # the suite's own servers and pollers, not the code under test
            return real_connect(self, address)
        seen.connects.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"the tests connect to 127.0.0.1 only, not {address[0]}")
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != owner:
            return real_lookup(host, *args, **kwargs)
        name = host.decode() if isinstance(host, bytes) else str(host)
        seen.lookups.append(name)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            if name.rstrip(".").lower() != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "the tests make no DNS lookups") from None
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


# ---------------------------------------------------------------- a receiver on 127.0.0.1


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[socket.socket, Request], None]


def reply(status: int, *, headers: dict[str, str] | None = None, body: bytes = b"ok") -> Answer:
    def answer(conn: socket.socket, request: Request) -> None:
        lines = [f"HTTP/1.1 {status} Status", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    return answer


class Receiver:
    """An HTTP/1.1 endpoint on 127.0.0.1 (TLS when given a context) that records every connection and request."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.accepted = 0
        self.requests: list[Request] = []
        self.server_names: list[str | None] = []
        self.done = threading.Event()  # set when a connection's handling ends
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        if tls is not None:
            tls.sni_callback = lambda sslsock, name, ctx: self.server_names.append(name)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            request = _read_request(conn)
            self.requests.append(request)
            self.answer(conn, request)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()
            self.done.set()

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(timeout=5)


def _read_request(conn: socket.socket) -> Request:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("the client closed before its request ended")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for header in header_lines:
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    while len(body) < int(headers.get("content-length", "0")):
        body += conn.recv(65536)
    return Request(line, headers, body)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(answer: Answer | None = None, tls: ssl.SSLContext | None = None) -> Receiver:
        made.append(Receiver(answer or reply(200), tls))
        return made[-1]

    yield make
    for each in made:
        each.stop()


def send(url: str, **options: Any) -> Result:
    """A loopback-mode delivery with short timeouts, as the local stack sends."""
    options.setdefault("allow_loopback", True)
    options.setdefault("connect_timeout", 2.0)
    options.setdefault("total_timeout", 4.0)
    return post(url, b'{"type":"webhook.test"}', {"Content-Type": "application/json"}, **options)


# ---------------------------------------------------------------- loopback mode (the local stack)


def test_a_signed_delivery_reaches_the_receiver_and_verifies(receiver):
    # Given a receiver on 127.0.0.1 and an event signed with the webhook's secret
    hook = receiver()
    secret = signing.new_secret()
    body = json.dumps({"type": "call.ended", "timestamp": "2026-01-01T00:00:00Z", "data": {"sequence": 3}}).encode()
    headers = signing.headers([secret], "evt_1", int(time.time()), body)

    # When it is posted in loopback mode
    result = post(f"http://127.0.0.1:{hook.port}/hooks/in?x=1", body, headers, allow_loopback=True)

    # Then the receiver got exactly our bytes, framed by us, and its Standard Webhooks library verifies them
    assert result == Result(200, result.duration_ms)
    assert result.ok
    [request] = hook.requests
    assert request.line == "POST /hooks/in?x=1 HTTP/1.1"
    assert request.body == body
    assert request.headers["host"] == f"127.0.0.1:{hook.port}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-length"] == str(len(body))
    assert request.headers["user-agent"] == webhook_http.USER_AGENT
    assert Webhook(secret).verify(request.body, request.headers) == json.loads(body)


def test_the_framing_headers_are_ours_whatever_the_caller_passes(receiver):
    hook = receiver()

    post(
        f"http://127.0.0.1:{hook.port}/",
        b"{}",
        {"Host": "metadata.internal", "content-length": "999", "Transfer-Encoding": "chunked", "X-Extra": "1"},
        allow_loopback=True,
    )

    [request] = hook.requests
    assert request.headers["host"] == f"127.0.0.1:{hook.port}"
    assert request.headers["content-length"] == "2"
    assert "transfer-encoding" not in request.headers
    assert request.headers["x-extra"] == "1"
    assert request.body == b"{}"


def test_loopback_mode_is_off_by_default_so_nothing_is_sent(receiver, network):
    hook = receiver()

    result = send(f"http://127.0.0.1:{hook.port}/", allow_loopback=False)

    assert result.status is None
    assert result.refused == "not_https"
    assert result.error == "refused: not_https"
    assert not result.ok
    assert hook.accepted == 0
    assert network.connects == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_answer_and_is_not_followed(receiver, status):
    landing = receiver()
    hook = receiver(reply(status, headers={"Location": f"http://127.0.0.1:{landing.port}/landing"}))

    result = send(f"http://127.0.0.1:{hook.port}/")

    assert result.status == status
    assert result.error == "redirect not followed"
    assert not result.ok
    assert len(hook.requests) == 1
    assert landing.accepted == 0


@pytest.mark.parametrize("status", [400, 404, 408, 410, 500, 502])
def test_an_error_status_is_returned_as_it_came(receiver, status):
    hook = receiver(reply(status, headers={"Retry-After": "30"}))

    result = send(f"http://127.0.0.1:{hook.port}/")

    assert (result.status, result.error, result.retry_after_seconds) == (status, None, None)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_read_on_429_and_503(receiver, status):
    hook = receiver(reply(status, headers={"Retry-After": "7"}))

    result = send(f"http://127.0.0.1:{hook.port}/")

    assert (result.status, result.retry_after_seconds) == (status, 7)


def test_retry_after_as_an_http_date_becomes_seconds_from_now(receiver):
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=120)
    hook = receiver(reply(503, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}))

    result = send(f"http://127.0.0.1:{hook.port}/")

    assert result.status == 503
    assert result.retry_after_seconds is not None
    assert 110 <= result.retry_after_seconds <= 121


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "99999999999", ""])
def test_an_unreadable_retry_after_is_none(receiver, value):
    hook = receiver(reply(429, headers={"Retry-After": value}))

    result = send(f"http://127.0.0.1:{hook.port}/")

    assert (result.status, result.retry_after_seconds) == (429, None)


def test_a_past_retry_after_date_is_zero():
    assert webhook_http._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0


def test_a_retry_after_date_without_a_zone_is_utc_whatever_the_local_zone(monkeypatch):
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=60)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        seconds = webhook_http._retry_after(soon.strftime("%a, %d %b %Y %H:%M:%S -0000"))
    finally:
        monkeypatch.undo()
        time.tzset()

    assert seconds is not None
    assert 55 <= seconds <= 61


# ---------------------------------------------------------------- time and size bounds


def test_a_server_that_does_not_answer_hits_the_total_timeout(receiver):
    stop = threading.Event()
    hook = receiver(lambda conn, request: stop.wait(10))
    try:
        started = time.monotonic()
        result = send(f"http://127.0.0.1:{hook.port}/", total_timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        stop.set()

    assert (result.status, result.error) == (None, "timeout")
    assert 0.9 <= elapsed < 2.5
    assert 900 <= result.duration_ms < 2500


def test_a_server_answering_a_byte_at_a_time_is_cut_at_the_total_timeout(receiver):
    # Each byte comes well within any read timeout: only a bound on the whole exchange ends this.
    stop = threading.Event()

    def drip(conn: socket.socket, request: Request) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 300:  # 15 s in all, far past the deadline
            if stop.wait(0.05):
                return
            conn.sendall(bytes([byte]))

    hook = receiver(drip)
    try:
        started = time.monotonic()
        result = send(f"http://127.0.0.1:{hook.port}/", connect_timeout=0.5, total_timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        stop.set()

    assert (result.status, result.error) == (None, "timeout")
    assert 0.9 <= elapsed < 2.5


def test_a_tls_handshake_answered_a_byte_at_a_time_is_bounded_by_the_connect_timeout():
    # Python's TLS handshake takes the socket's timeout as its total: the deadline's watch need not cover it
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def drip() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)  # the client's hello
                conn.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KB, then one byte at a time
                while not stop.wait(0.05):
                    conn.sendall(b"\x00")

        server = threading.Thread(target=drip, daemon=True)
        server.start()
        try:
            started = time.monotonic()
            result = post(
                f"https://{HOOKS}:{listener.getsockname()[1]}/",
                b"{}",
                {},
                allow_loopback=False,
                resolve=loopback_resolver(HOOKS),
                allow=loopback_allowed,
                connect_timeout=0.5,
                total_timeout=5.0,
            )
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            server.join(5)

    assert (result.status, result.error) == (None, "timeout")
    assert 0.4 <= elapsed < 1.5


def test_a_slow_body_after_the_status_keeps_the_status(receiver):
    # The answer is the status; a body that never ends is cut at the deadline without failing the delivery.
    stop = threading.Event()

    def slow_body(conn: socket.socket, request: Request) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nstart")
        stop.wait(10)

    hook = receiver(slow_body)
    try:
        result = send(f"http://127.0.0.1:{hook.port}/", total_timeout=1.0)
    finally:
        stop.set()

    assert (result.status, result.error) == (200, None)
    assert result.duration_ms < 2500


def test_a_ten_megabyte_answer_is_cut_at_64_kb_and_the_delivery_succeeds(receiver):
    total = 10 * 1024 * 1024
    sent = [0]

    def flood(conn: socket.socket, request: Request) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
        chunk = b"x" * 16384
        while sent[0] < total:
            conn.sendall(chunk)
            sent[0] += len(chunk)

    hook = receiver(flood)

    result = send(f"http://127.0.0.1:{hook.port}/", total_timeout=10.0)

    assert (result.status, result.error) == (200, None)
    assert hook.done.wait(5)
    # The client stopped reading and closed: the server could not push the rest (kernel buffers hold a few 100 KB).
    assert sent[0] < total // 4, sent[0]
    assert result.duration_ms < 5000


def test_max_bytes_bounds_what_is_read(receiver):
    stop = threading.Event()

    def endless(conn: socket.socket, request: Request) -> None:
        # 100 KB at once, then silence with the connection open: reading past 64 KB would wait for the deadline.
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n" + b"y" * 100_000)
        stop.wait(10)

    hook = receiver(endless)
    try:
        started = time.monotonic()
        result = send(f"http://127.0.0.1:{hook.port}/", total_timeout=3.0)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
    assert (result.status, result.error) == (200, None)
    assert elapsed < 1.5

    # and reading past the bound (more than was sent) waits for the deadline: the bound above is what made it quick
    hook2 = receiver(endless)
    stop.clear()
    try:
        started = time.monotonic()
        result = send(f"http://127.0.0.1:{hook2.port}/", total_timeout=1.0, max_bytes=200_000)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
    assert result.status == 200
    assert elapsed >= 0.9


# ---------------------------------------------------------------- failures are results, never exceptions


def test_a_closed_port_is_connection_refused():
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]

    result = send(f"http://127.0.0.1:{port}/")

    assert (result.status, result.error) == (None, "connection refused")


def test_a_host_that_does_not_accept_hits_the_connect_timeout():
    # A listener whose accept queue is full drops further SYNs: the connection neither opens nor fails
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=1):  # fills the queue
            started = time.monotonic()
            result = send(f"http://127.0.0.1:{port}/", connect_timeout=0.5, total_timeout=5.0)
            elapsed = time.monotonic() - started

    assert (result.status, result.error) == (None, "connect timeout")
    assert 0.4 <= elapsed < 2.0


def test_a_server_that_hangs_up_without_answering(receiver):
    hook = receiver(lambda conn, request: None)

    result = send(f"http://127.0.0.1:{hook.port}/")

    assert (result.status, result.error) == (None, "connection closed")


def test_a_server_that_answers_nonsense(receiver):
    hook = receiver(lambda conn, request: conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))

    result = send(f"http://127.0.0.1:{hook.port}/")

    assert (result.status, result.error) == (None, "invalid response")


def test_errors_never_quote_the_url():
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]

    result = send(f"http://127.0.0.1:{port}/hooks?token=tok_s3cr3t")

    assert result.error is not None
    assert "tok_s3cr3t" not in result.error
    assert str(port) not in result.error


def test_when_the_first_address_fails_the_next_checked_one_is_tried(receiver, network):
    # The resolver's first answer is a public IPv6 address that does not accept (the guard refuses it, no packet
    # leaves); the second is this receiver.
    hook = receiver(reply(204))
    first = "2606:4700:4700::1111"

    result = post(
        f"https://{HOOKS}:{hook.port}/",
        b"{}",
        {},
        allow_loopback=False,
        resolve=lambda host, port: [first, "127.0.0.1"],
        allow=lambda address: address == LOOPBACK or is_public(address),
        connect_timeout=0.5,
        total_timeout=1.0,
    )

    # (the receiver speaks plain HTTP: what matters is that the second address was reached)
    assert [c[0] for c in network.connects] == [first, "127.0.0.1"]
    assert hook.accepted == 1
    assert result.status is None


# ---------------------------------------------------------------- TLS to a name, through the checked address


@dataclass
class Certificates:
    ca_file: Path
    server: ssl.SSLContext

    def client(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway CA and a certificate it signs for hooks.example.test."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("webhook test CA"))
        .issuer_name(name("webhook test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(HOOKS))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOOKS)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + leaf.public_bytes(serialization.Encoding.PEM)
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain)
    return Certificates(ca_file, server)


def loopback_resolver(*names: str) -> Callable[[str, int], list[str]]:
    """These names resolve to 127.0.0.1; any other is unknown."""

    def resolve(host: str, port: int) -> list[str]:
        if host in names:
            return ["127.0.0.1"]
        raise socket.gaierror(socket.EAI_NONAME, "unknown name")

    return resolve


def loopback_allowed(address: webhook_http.IPAddress) -> bool:
    """The public policy, plus 127.0.0.1: the TLS receiver of these tests."""
    return address == LOOPBACK or is_public(address)


def test_https_goes_to_the_checked_address_with_the_urls_name_for_sni_certificate_and_host(
    receiver, certificates, network
):
    hook = receiver(reply(200), tls=certificates.server)
    secret = signing.new_secret()
    body = b'{"type":"webhook.test","data":{}}'

    result = post(
        f"https://{HOOKS}:{hook.port}/in",
        body,
        signing.headers([secret], "evt_tls", int(time.time()), body),
        allow_loopback=False,
        resolve=loopback_resolver(HOOKS),
        allow=loopback_allowed,
        tls=certificates.client(),
    )

    assert (result.status, result.error) == (200, None)
    assert hook.server_names == [HOOKS]
    [request] = hook.requests
    assert request.headers["host"] == f"{HOOKS}:{hook.port}"
    Webhook(secret).verify(request.body, request.headers)
    # no second resolution: the connection went to the checked address and nothing looked the name up again
    assert [c[0] for c in network.connects] == ["127.0.0.1"]
    assert HOOKS not in network.lookups


def test_a_certificate_for_another_name_is_refused(receiver, certificates):
    hook = receiver(reply(200), tls=certificates.server)

    result = post(
        f"https://other.example.test:{hook.port}/",
        b"{}",
        {},
        allow_loopback=False,
        resolve=loopback_resolver("other.example.test"),
        allow=loopback_allowed,
        tls=certificates.client(),
    )

    assert (result.status, result.error) == (None, "tls certificate not valid for the host")
    assert hook.requests == []


def test_the_systems_cas_do_not_trust_a_certificate_we_made(receiver, certificates):
    hook = receiver(reply(200), tls=certificates.server)

    result = post(
        f"https://{HOOKS}:{hook.port}/",
        b"{}",
        {},
        allow_loopback=False,
        resolve=loopback_resolver(HOOKS),
        allow=loopback_allowed,
    )

    assert (result.status, result.error) == (None, "tls certificate not valid for the host")
    assert hook.requests == []


def test_without_the_tests_policy_127_0_0_1_is_refused_before_any_connection(receiver, certificates, network):
    hook = receiver(reply(200), tls=certificates.server)

    result = post(
        f"https://{HOOKS}:{hook.port}/",
        b"{}",
        {},
        allow_loopback=True,
        resolve=loopback_resolver(HOOKS),
        tls=certificates.client(),
    )

    assert (result.status, result.refused) == (None, "not_public")
    assert hook.accepted == 0
    assert network.connects == []


def test_a_plain_http_server_behind_an_https_url_fails_the_handshake():
    # A server that answers in plain HTTP as soon as it accepts, as one does to a TLS hello
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                time.sleep(0.5)

        server = threading.Thread(target=answer, daemon=True)
        server.start()
        result = post(
            f"https://{HOOKS}:{listener.getsockname()[1]}/",
            b"{}",
            {},
            allow_loopback=False,
            resolve=loopback_resolver(HOOKS),
            allow=loopback_allowed,
            connect_timeout=2,
            total_timeout=4,
        )
        server.join(5)

    assert (result.status, result.error) == (None, "tls failed")


# ---------------------------------------------------------------- the check itself


def public_resolver(host: str, port: int) -> list[str]:
    return {"hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]}[host]


@pytest.mark.parametrize(
    ("url", "host", "port", "path"),
    [
        ("https://hooks.example.com/in", "hooks.example.com", 443, "/in"),
        ("https://hooks.example.com", "hooks.example.com", 443, "/"),
        ("HTTPS://Hooks.Example.COM:8443/A/b?x=1&y=%20#frag", "hooks.example.com", 8443, "/A/b?x=1&y=%20"),
        ("https://hooks.example.com./", "hooks.example.com", 443, "/"),
        ("https://hooks.example.com#@127.0.0.1/", "hooks.example.com", 443, "/"),
    ],
)
def test_a_public_url_is_accepted_with_every_address_it_resolves_to(url, host, port, path):
    target = check(url, allow_loopback=False, resolve=public_resolver)

    assert (target.scheme, target.host, target.port, target.path) == ("https", host, port, path)
    assert target.addresses == ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert target.address == "93.184.215.14"


@pytest.mark.parametrize(
    ("url", "authority"),
    [
        ("https://8.8.8.8/", "8.8.8.8"),
        ("https://[2606:4700:4700::1111]:8443/", "[2606:4700:4700::1111]:8443"),
        ("https://[::ffff:8.8.8.8]/", "[::ffff:808:808]"),
        ("https://[64:ff9b::808:808]/", "[64:ff9b::808:808]"),
        ("https://[2002:808:808::1]/", "[2002:808:808::1]"),
    ],
)
def test_a_public_address_written_in_the_url_is_accepted_without_resolving(url, authority):
    def no_lookup(host: str, port: int) -> list[str]:
        raise AssertionError("an address is not resolved")

    target = check(url, allow_loopback=False, resolve=no_lookup)

    assert target.authority == authority


def test_loopback_mode_accepts_exactly_the_two_loopback_forms_with_a_port():
    v4 = check("http://127.0.0.1:8080/hook", allow_loopback=True)
    v6 = check("http://[::1]:9000/", allow_loopback=True)

    assert (v4.scheme, v4.address, v4.port, v4.path, v4.authority) == (
        "http",
        "127.0.0.1",
        8080,
        "/hook",
        "127.0.0.1:8080",
    )
    assert (v6.address, v6.authority) == ("::1", "[::1]:9000")
    for url in ("http://127.0.0.1/", "http://localhost:8080/", "http://127.0.0.2:8080/", "http://[::1]/"):
        with pytest.raises(InvalidInput) as refused:
            check(url, allow_loopback=True)
        assert refused.value.details == [{"field": "url", "issue": "not_https"}]


def test_a_refusal_says_why_in_the_error_contract():
    with pytest.raises(InvalidInput) as refused:
        check("https://10.0.0.1/", allow_loopback=False)

    assert refused.value.code == "invalid_request"
    assert refused.value.details == [{"field": "url", "issue": "not_public"}]
    assert "private" in refused.value.message


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("93.184.215.14", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("192.0.0.9", False),
        ("198.18.0.1", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b::a00:1", False),
        ("2002:808:808::", True),
        ("2002:a9fe:a9fe::", False),
        ("2001::1", False),
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("fc00::1", False),
        ("fec0::1", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("ff02::1", False),
        ("::", False),
        ("::1", False),
        ("::8.8.8.8", False),
    ],
)
def test_is_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public
