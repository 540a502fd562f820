"""The only code that sends HTTP to a customer's webhook endpoint, and the check of an endpoint's URL.

A customer names the URL and our function sends to it from inside AWS: server-side request forgery is the risk
(docs/adr/0020-account-webhooks.md). So:
- only `https` (the local stack alone may allow `http://127.0.0.1:<port>` and `http://[::1]:<port>`);
- the host is resolved and every address it resolves to must be public; a host written as a number in any form but
  four decimal parts is refused outright (resolvers read `127.1`, `2130706433` or `0x7f.1` as 127.0.0.1);
- the check runs at registration and again at every send, and the connection goes to an address that was checked
  (no second resolution), with TLS verified against the URL's host name: a DNS answer that changes between the
  check and the connection (rebinding) cannot move the request;
- no redirect is followed, connecting and the whole exchange are bounded in time, and at most `max_bytes` of the
  answer's body are read.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import ipaddress
import math
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telephony.errors import InvalidInput

if TYPE_CHECKING:
    from urllib3.connection import HTTPConnection
    from urllib3.response import BaseHTTPResponse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""(host, port) -> every address the host resolves to, as text."""
AddressPolicy = Callable[[IPAddress], bool]
"""Whether a request may go to this address."""

CONNECT_SECONDS = 5.0
TOTAL_SECONDS = 15.0
MAX_ANSWER_BYTES = 64 * 1024
MAX_URL_LENGTH = 2048
USER_AGENT = "telephony-api-webhooks"
_LOOPBACK_HOSTS = ("127.0.0.1", "::1")  # as written in the URL: the local stack's receivers, nothing else
_RETRY_AFTER_STATUSES = (429, 503)

# ---------------------------------------------------------------- which addresses are public

# IANA's special-purpose IPv4 registry, less the ranges it marks globally reachable that no webhook lives in anyway.
_NOT_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 (unspecified) included
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, the instance metadata service (169.254.169.254) included
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments (DS-Lite, NAT64 discovery...)
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # the former 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, the broadcast address 255.255.255.255 included
    )
)
# IPv6 is public only inside global unicast (2000::/3), which leaves out loopback, unspecified, IPv4-compatible,
# discard, unique local (fc00::/7), link-local, site-local (fec0::/10) and multicast; and not inside these:
_NOT_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "2001::/23",  # IETF protocol assignments: Teredo (2001::/32), benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
# IPv6 forms whose packets end at an IPv4 address: that address decides.
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _MAPPED:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def is_public(address: IPAddress) -> bool:
    """Whether `address` is on the public internet: the default policy of `check` and `post`."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not any(address in network for network in _NOT_PUBLIC_V4)
    if address.scope_id:  # a zone names a local interface
        return False
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public(embedded)
    return address in _GLOBAL_UNICAST_V6 and not any(address in network for network in _NOT_PUBLIC_V6)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6), in its order of preference."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


# ---------------------------------------------------------------- the check


@dataclass(frozen=True)
class Target:
    """Where a checked URL sends: the URL's own host and port, and the addresses that passed the check."""

    scheme: str
    host: str  # as the URL names it, lowercased, without a trailing dot or brackets: TLS name, Host header
    port: int
    path: str  # the request target: path and query
    addresses: tuple[str, ...]  # every address the host resolved to, each checked; the first is tried first

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def authority(self) -> str:
        """The Host header: the URL's host, and its port unless the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


def _refuse(issue: str, message: str) -> InvalidInput:
    return InvalidInput(message, details=[{"field": "url", "issue": issue}])


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# A last label that the URL standard (and inet_aton) reads as a number makes the whole host an IPv4 address.
_NUMBER = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_NOT_PUBLIC = "loopback, private, link-local, shared, multicast, reserved and documentation addresses are refused"


@dataclass(frozen=True)
class _Parts:
    scheme: str
    host: str
    literal: IPAddress | None
    port: int | None
    path: str


def _parse(url: str) -> _Parts:
    if not isinstance(url, str) or not url:
        raise _refuse("invalid", "url must be an https URL")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse("invalid", f"url must be at most {MAX_URL_LENGTH} characters")
    # Parsers disagree about these (some drop tabs and newlines, some read a backslash as a slash): refusing them
    # leaves one reading of the URL, ours.
    if not url.isascii() or any(c <= " " or c in "\\\x7f" for c in url):
        raise _refuse(
            "invalid",
            "url must be ASCII without spaces, control characters or backslashes: write an international host name "
            "in its xn-- form and percent-encode the rest",
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _refuse("invalid", "url is not a valid URL") from exc
    if parts.scheme not in ("https", "http"):
        raise _refuse("not_https", "url must use https")
    netloc = parts.netloc
    if not url.lower().startswith(parts.scheme + "://") or not netloc:
        raise _refuse("invalid", "url must be an absolute URL with a host, such as https://hooks.example.com/path")
    if "@" in netloc:
        raise _refuse("invalid", "url must not carry a user name or password")
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        bracketed = True
    else:
        host, colon, port_text = netloc.partition(":")
        rest = colon + port_text
        bracketed = False
    port: int | None = None
    if rest:
        digits = rest[1:]
        if not rest.startswith(":") or not (digits.isdigit() and len(digits) <= 5 and 0 < int(digits) < 65536):
            raise _refuse("invalid", "url has an invalid port")
        port = int(digits)
    host = host.lower()
    literal = _literal(host, bracketed)
    if literal is None:
        host = host.removesuffix(".")
        labels = host.split(".")
        if _NUMBER.fullmatch(labels[-1]):
            raise _refuse("invalid", "url's host is a number that is not four decimal parts; write the address so")
        if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise _refuse("invalid", "url's host is not a valid host name")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Parts(parts.scheme, host, literal, port, path)


def _literal(host: str, bracketed: bool) -> IPAddress | None:
    """The address a host written as one stands for; None for a name."""
    if bracketed:
        try:
            if "%" in host:  # a zone (interface) id
                raise ValueError(host)
            return ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise _refuse("invalid", "url's host is not a valid IPv6 address") from exc
    try:
        return ipaddress.IPv4Address(host)  # four decimal parts, no leading zeros
    except ValueError:
        return None


def _addresses(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    try:
        answers = list(resolve(host, port))
    except (OSError, UnicodeError) as exc:
        raise _refuse("unresolvable", "url's host does not resolve to an address") from exc
    try:
        addresses = [ipaddress.ip_address(answer) for answer in answers]
    except ValueError as exc:
        raise _refuse("unresolvable", "url's host does not resolve to an address") from exc
    if not addresses:
        raise _refuse("unresolvable", "url's host does not resolve to an address")
    return addresses


def check(
    url: str, *, allow_loopback: bool, resolve: Resolver = resolve_host, allow: AddressPolicy = is_public
) -> Target:
    """The URL's target, if a webhook may send to it now; else `InvalidInput` naming the issue (`invalid`,
    `not_https`, `not_public`, `unresolvable`) in `details`. `allow_loopback` lets the local stack's receivers
    through: `http://127.0.0.1:<port>` and `http://[::1]:<port>`, exactly."""
    parts = _parse(url)
    if parts.scheme == "http":
        if not (allow_loopback and parts.host in _LOOPBACK_HOSTS and parts.port is not None):
            raise _refuse("not_https", "url must use https")
        return Target("http", parts.host, parts.port, parts.path, (parts.host,))
    port = parts.port or 443
    if parts.literal is not None:
        if not allow(parts.literal):
            raise _refuse("not_public", f"url's host is not a public address ({_NOT_PUBLIC})")
        return Target("https", str(parts.literal), port, parts.path, (str(parts.literal),))
    addresses = _addresses(parts.host, port, resolve)
    if not all(allow(address) for address in addresses):
        raise _refuse("not_public", f"url's host resolves to an address that is not public ({_NOT_PUBLIC})")
    return Target("https", parts.host, port, parts.path, tuple(dict.fromkeys(str(a) for a in addresses)))


# ---------------------------------------------------------------- the send


@dataclass(frozen=True)
class Result:
    """What one delivery attempt came to. `error` is short and carries neither the URL nor any header."""

    status: int | None  # the answer's status; None when no answer came
    duration_ms: int
    error: str | None = None
    retry_after_seconds: int | None = None  # a 429's or 503's Retry-After, in seconds from now
    refused: str | None = None  # the check's issue when the URL was refused at send time: nothing was sent

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Deadline:
    """The whole exchange's time. A socket's timeout bounds each read, not their sum: a server answering a byte at a
    time would hold the delivery for as long as it liked. When the time is up, this shuts down the socket of the
    connection it watches, which ends whatever read or write waits on it. (A TLS handshake in progress is bounded by
    the connect timeout instead: Python's handshake takes the socket's timeout as its total.)"""

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        self._stopped = False
        self.expired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self._at - time.monotonic()

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection

    def _expire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.expired = True
            sock = self._connection.sock if self._connection is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Before the connection closes, so that the timer never touches a socket that is gone."""
        with self._lock:
            self._stopped = True
        self._timer.cancel()


@cache
def _system_tls() -> ssl.SSLContext:
    """Certificates checked against the system's CAs, host names checked by OpenSSL (one per warm container)."""
    return ssl.create_default_context()


def _connection(target: Target, address: str, timeout: float, tls: ssl.SSLContext | None) -> HTTPConnection:
    from urllib3.connection import HTTPConnection, HTTPSConnection

    if target.scheme == "http":
        return HTTPConnection(address, target.port, timeout=timeout)
    # The socket goes to the checked address; TLS names (SNI) and verifies the URL's host, as a browser would.
    return HTTPSConnection(
        address, target.port, timeout=timeout, server_hostname=target.host, ssl_context=tls or _system_tls()
    )


def _open(target: Target, deadline: _Deadline, connect_timeout: float, tls: ssl.SSLContext | None) -> HTTPConnection:
    """A connection to the first checked address that accepts one; a TLS failure is final."""
    from urllib3.exceptions import ConnectTimeoutError

    failure: Exception = TimeoutError()
    for address in target.addresses:
        timeout = min(connect_timeout, deadline.remaining())
        if timeout <= 0:
            break
        connection = _connection(target, address, timeout, tls)
        deadline.watch(connection)
        try:
            connection.connect()
        except ConnectTimeoutError as exc:  # refused, unreachable, timed out (NewConnectionError is one)
            connection.close()
            failure = exc
            continue
        if deadline.expired:
            connection.close()
            break
        return connection
    raise failure


def _drain(response: BaseHTTPResponse, max_bytes: int) -> None:
    """Read up to `max_bytes` of the body and stop: the status is the answer, the body is only let in politely."""
    from urllib3.exceptions import HTTPError

    left = max_bytes
    with contextlib.suppress(OSError, http.client.HTTPException, HTTPError, ValueError):
        while left > 0:
            chunk = response.read1(min(left, 16384), decode_content=False)
            if not chunk:
                return
            left -= len(chunk)


def _retry_after(value: str | None) -> int | None:
    """Retry-After as seconds from now: delay-seconds, or an HTTP date; None when absent or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 10 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": a time in UTC from a source that does not say where
        when = when.replace(tzinfo=datetime.UTC)
    return max(0, math.ceil(when.timestamp() - time.time()))


def _describe(error: BaseException) -> str:
    """A short, fixed text for the delivery log: never the exception's own message, which may quote the URL."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    if isinstance(error, NewConnectionError):
        return "connection refused" if isinstance(error.__cause__, ConnectionRefusedError) else "connection failed"
    if isinstance(error, ConnectTimeoutError):
        return "connect timeout"
    if isinstance(error, ssl.SSLCertVerificationError):
        return "tls certificate not valid for the host"
    if isinstance(error, ssl.SSLError):
        return "tls failed"
    if isinstance(error, TimeoutError | Urllib3Timeout):
        return "timeout"
    if isinstance(error, ConnectionError | ProtocolError):
        return "connection closed"
    if isinstance(error, http.client.HTTPException | ValueError):
        return "invalid response"
    return "network error"


def _headers(target: Target, headers: Mapping[str, str]) -> dict[str, str]:
    # The framing headers are ours: the body's length is what we send, the host is the URL's, one request a connection.
    framing = {"host", "content-length", "transfer-encoding", "connection"}
    sent = {"User-Agent": USER_AGENT}
    sent.update({name: value for name, value in headers.items() if name.lower() not in framing})
    sent.update({"Host": target.authority, "Connection": "close"})
    return sent


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_loopback: bool,
    resolve: Resolver = resolve_host,
    allow: AddressPolicy = is_public,
    connect_timeout: float = CONNECT_SECONDS,
    total_timeout: float = TOTAL_SECONDS,
    max_bytes: int = MAX_ANSWER_BYTES,
    tls: ssl.SSLContext | None = None,
) -> Result:
    """POST `body` to `url` once. The URL is checked again now (its registration's check proves nothing about
    today's DNS); a refused URL, a network failure or a timeout is a `Result` with no status, never an exception.
    A redirect is an answer like any other: not followed. `tls` replaces the system's CAs (tests only)."""
    started = time.monotonic()
    try:
        target = check(url, allow_loopback=allow_loopback, resolve=resolve, allow=allow)
    except InvalidInput as refused:
        issue = str(refused.details[0]["issue"])
        return Result(None, _since(started), f"refused: {issue}", refused=issue)
    deadline = _Deadline(total_timeout - (time.monotonic() - started))
    status, error, retry_after = _exchange(
        target, body, _headers(target, headers), deadline, connect_timeout, max_bytes, tls
    )
    return Result(status, _since(started), error, retry_after)


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _exchange(
    target: Target,
    body: bytes,
    headers: dict[str, str],
    deadline: _Deadline,
    connect_timeout: float,
    max_bytes: int,
    tls: ssl.SSLContext | None,
) -> tuple[int | None, str | None, int | None]:
    """(status, error, retry_after_seconds) of one request, within the deadline."""
    from urllib3.exceptions import HTTPError

    connection: HTTPConnection | None = None
    try:
        try:
            connection = _open(target, deadline, connect_timeout, tls)
            connection.timeout = max(deadline.remaining(), 0.001)  # each read's bound; the deadline bounds their sum
            connection.request("POST", target.path, body=body, headers=headers, preload_content=False)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException, HTTPError, ValueError) as exc:
            return None, "timeout" if deadline.expired else _describe(exc), None
        if deadline.expired:  # the cut socket ended the head early: what was parsed is a fragment, not an answer
            return None, "timeout", None
        status = response.status
        retry_after = _retry_after(response.headers.get("Retry-After")) if status in _RETRY_AFTER_STATUSES else None
        _drain(response, max_bytes)
        return status, "redirect not followed" if 300 <= status < 400 else None, retry_after
    finally:
        deadline.stop()
        if connection is not None:
            connection.close()
