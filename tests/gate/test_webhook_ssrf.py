"""Webhook URLs that point inside are refused, at registration (`check`) and at send time (`post`), and a refused
send never opens a connection.

Every spelling of loopback, private, link-local, metadata and reserved addresses (IPv4, IPv6, IPv4 inside IPv6, numbers
in decimal, octal and hex), DNS names that resolve to them (through an injected resolver; `localhost` through the
system's), plain http, user-info tricks, and a name that rebinds between registration and send. URLs aimed at loopback
carry the port of a listener on 127.0.0.1 that counts what reaches it; a guard records every connect and name lookup
(and lets nothing leave 127.0.0.1), so "refused" means nothing was attempted.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from telephony.errors import InvalidInput
from telephony.integrations.webhook_http import check, is_public, post, resolve_host
from tests.gate.conftest import figure

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"

# What the attacker's DNS answers. A name with one bad address among good ones is refused whole.
ATTACKER_DNS: dict[str, list[str]] = {
    "hooks.example.com": [PUBLIC_V4],
    "private.attacker.example": ["10.0.0.5"],
    "private172.attacker.example": ["172.20.1.1"],
    "private192.attacker.example": ["192.168.0.10"],
    "loop.attacker.example": ["127.0.0.1"],
    "loop2.attacker.example": ["127.53.0.1"],
    "metadata.attacker.example": ["169.254.169.254"],
    "ecs.attacker.example": ["169.254.170.2"],
    "shared.attacker.example": ["100.100.100.200"],
    "zero.attacker.example": ["0.0.0.0"],
    "broadcast.attacker.example": ["255.255.255.255"],
    "multicast.attacker.example": ["239.1.1.1"],
    "testnet.attacker.example": ["198.51.100.20"],
    "mapped.attacker.example": ["::ffff:127.0.0.1"],
    "mapped-meta.attacker.example": ["::ffff:169.254.169.254"],
    "v6loop.attacker.example": ["::1"],
    "v6zero.attacker.example": ["::"],
    "ula.attacker.example": ["fd12:3456:789a::1"],
    "imds6.attacker.example": ["fd00:ec2::254"],
    "linklocal6.attacker.example": ["fe80::a9fe:a9fe"],
    "nat64.attacker.example": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.attacker.example": ["2002:c0a8:0101::1"],
    "teredo.attacker.example": ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    "mixed.attacker.example": [PUBLIC_V4, "10.0.0.1"],
    "mixed6.attacker.example": [PUBLIC_V6, PUBLIC_V4, "fe80::1"],
    "garbage.attacker.example": ["not-an-address"],
    "empty.attacker.example": [],
}


def attacker_resolver(host: str, port: int) -> list[str]:
    if host not in ATTACKER_DNS:
        raise socket.gaierror(socket.EAI_NONAME, "unknown name")
    return ATTACKER_DNS[host]


# (url, the issue it is refused with); {port} is the counting listener's
HOSTILE: list[tuple[str, str]] = [
    # IPv4 literals that are not public
    ("https://127.0.0.1:{port}/", "not_public"),
    ("https://127.0.0.2:{port}/", "not_public"),
    ("https://127.255.255.254:{port}/", "not_public"),
    ("https://10.0.0.1/", "not_public"),
    ("https://172.16.0.1/", "not_public"),
    ("https://172.31.255.255/", "not_public"),
    ("https://192.168.1.1/", "not_public"),
    ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "not_public"),
    ("https://169.254.170.2/v2/credentials", "not_public"),
    ("https://100.64.0.1/", "not_public"),
    ("https://100.127.255.254/", "not_public"),
    ("https://0.0.0.0:{port}/", "not_public"),
    ("https://0.1.2.3/", "not_public"),
    ("https://224.0.0.1/", "not_public"),
    ("https://239.255.255.250/", "not_public"),
    ("https://240.0.0.1/", "not_public"),
    ("https://255.255.255.255/", "not_public"),
    ("https://192.0.0.170/", "not_public"),
    ("https://192.0.2.1/", "not_public"),
    ("https://198.51.100.7/", "not_public"),
    ("https://203.0.113.9/", "not_public"),
    ("https://198.18.0.1/", "not_public"),
    ("https://192.88.99.1/", "not_public"),
    # numbers in other forms: read as 127.0.0.1 / 169.254.169.254 by resolvers, refused as written
    ("https://2130706433:{port}/", "invalid"),
    ("https://0x7f000001:{port}/", "invalid"),
    ("https://017700000001:{port}/", "invalid"),
    ("https://0177.0.0.1:{port}/", "invalid"),
    ("https://0x7f.0.0.1:{port}/", "invalid"),
    ("https://0x7f.0x0.0x0.0x1:{port}/", "invalid"),
    ("https://127.1:{port}/", "invalid"),
    ("https://127.0.1:{port}/", "invalid"),
    ("https://127.000.000.001:{port}/", "invalid"),
    ("https://127.0.0.1.:{port}/", "invalid"),
    ("https://0:{port}/", "invalid"),
    ("https://2852039166/", "invalid"),
    ("https://0xa9fea9fe/", "invalid"),
    ("https://0251.0376.0251.0376/", "invalid"),
    ("https://169.254.43518/", "invalid"),
    ("https://hooks.example.0x1/", "invalid"),
    ("https://hooks.example.123/", "invalid"),
    # IPv6 literals
    ("https://[::1]:{port}/", "not_public"),
    ("https://[0:0:0:0:0:0:0:1]:{port}/", "not_public"),
    ("https://[::]:{port}/", "not_public"),
    ("https://[::ffff:127.0.0.1]:{port}/", "not_public"),
    ("https://[::ffff:7f00:1]:{port}/", "not_public"),
    ("https://[::ffff:169.254.169.254]/", "not_public"),
    ("https://[::ffff:10.0.0.1]/", "not_public"),
    ("https://[::ffff:0:127.0.0.1]/", "not_public"),
    ("https://[::127.0.0.1]:{port}/", "not_public"),
    ("https://[fe80::1]/", "not_public"),
    ("https://[fe80::1%25eth0]/", "invalid"),
    ("https://[fc00::1]/", "not_public"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "not_public"),
    ("https://[fec0::1]/", "not_public"),
    ("https://[ff02::1]/", "not_public"),
    ("https://[64:ff9b::a9fe:a9fe]/", "not_public"),
    ("https://[64:ff9b::7f00:1]:{port}/", "not_public"),
    ("https://[64:ff9b:1::a00:1]/", "not_public"),
    ("https://[2002:7f00:1::1]:{port}/", "not_public"),
    ("https://[2002:a9fe:a9fe::]/", "not_public"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "not_public"),
    ("https://[2001:db8::1]/", "not_public"),
    ("https://[100::1]/", "not_public"),
    ("https://[::1/", "invalid"),
    # DNS names whose answers are not public (the attacker's DNS)
    ("https://private.attacker.example/", "not_public"),
    ("https://private172.attacker.example/", "not_public"),
    ("https://private192.attacker.example/", "not_public"),
    ("https://loop.attacker.example:{port}/", "not_public"),
    ("https://loop2.attacker.example:{port}/", "not_public"),
    ("https://metadata.attacker.example/latest/meta-data/", "not_public"),
    ("https://ecs.attacker.example/v2/credentials", "not_public"),
    ("https://shared.attacker.example/", "not_public"),
    ("https://zero.attacker.example:{port}/", "not_public"),
    ("https://broadcast.attacker.example/", "not_public"),
    ("https://multicast.attacker.example/", "not_public"),
    ("https://testnet.attacker.example/", "not_public"),
    ("https://mapped.attacker.example:{port}/", "not_public"),
    ("https://mapped-meta.attacker.example/", "not_public"),
    ("https://v6loop.attacker.example:{port}/", "not_public"),
    ("https://v6zero.attacker.example:{port}/", "not_public"),
    ("https://ula.attacker.example/", "not_public"),
    ("https://imds6.attacker.example/", "not_public"),
    ("https://linklocal6.attacker.example/", "not_public"),
    ("https://nat64.attacker.example/", "not_public"),
    ("https://sixtofour.attacker.example/", "not_public"),
    ("https://teredo.attacker.example/", "not_public"),
    ("https://mixed.attacker.example/", "not_public"),
    ("https://mixed6.attacker.example/", "not_public"),
    ("https://MIXED.Attacker.Example./", "not_public"),
    ("https://garbage.attacker.example/", "unresolvable"),
    ("https://empty.attacker.example/", "unresolvable"),
    ("https://nowhere.attacker.example/", "unresolvable"),
    # not https
    ("http://hooks.example.com/", "not_https"),
    ("http://127.0.0.1:{port}/", "not_https"),
    ("http://[::1]:{port}/", "not_https"),
    ("HTTP://hooks.example.com/", "not_https"),
    ("ftp://hooks.example.com/", "not_https"),
    ("file:///etc/passwd", "not_https"),
    ("gopher://127.0.0.1:{port}/_POST", "not_https"),
    ("dict://127.0.0.1:{port}/", "not_https"),
    ("ws://hooks.example.com/", "not_https"),
    ("//hooks.example.com/", "not_https"),
    ("hooks.example.com/in", "not_https"),
    ("javascript:alert(1)", "not_https"),
    # user info, and the parser differentials it is used for
    ("https://hooks.example.com@127.0.0.1:{port}/", "invalid"),
    ("https://hooks.example.com:443@127.0.0.1:{port}/", "invalid"),
    ("https://user:pass@hooks.example.com/", "invalid"),
    ("https://@hooks.example.com/", "invalid"),
    ("https://127.0.0.1:{port}@hooks.example.com/", "invalid"),
    ("https://hooks.example.com\\@127.0.0.1:{port}/", "invalid"),
    ("https://hooks.example.com%40127.0.0.1:{port}/", "invalid"),
    ("https://hooks.example.com%2f@127.0.0.1:{port}/", "invalid"),
    # spaces, control characters and look-alike characters
    ("https://127.0.0.1\t:{port}/", "invalid"),
    ("https://hooks.example.com\n.127.0.0.1:{port}/", "invalid"),
    (" https://127.0.0.1:{port}/", "invalid"),
    ("https://127.0.0.1:{port}/\x00", "invalid"),
    ("https://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/", "invalid"),  # fullwidth digits
    ("https://127\u30020\u30020\u30021:{port}/", "invalid"),  # ideographic full stops
    ("https://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:{port}/", "invalid"),  # circled localhost
    # malformed
    ("", "invalid"),
    ("https://", "invalid"),
    ("https:///127.0.0.1", "invalid"),
    ("https:127.0.0.1:{port}", "invalid"),
    ("https:/hooks.example.com/", "invalid"),
    ("https://hooks.example.com:0/", "invalid"),
    ("https://hooks.example.com:99999/", "invalid"),
    ("https://hooks.example.com:-1/", "invalid"),
    ("https://hooks.example.com:44a/", "invalid"),
    ("https://hooks..example.com/", "invalid"),
    ("https://-hooks.example.com/", "invalid"),
    ("https://hooks.example.com/" + "a" * 2100, "invalid"),
]

# Names the system resolver answers from the hosts file: loopback
SYSTEM_RESOLVED: list[tuple[str, str]] = [
    ("https://localhost:{port}/", "not_public"),
    ("https://localhost.:{port}/", "not_public"),
    ("https://LOCALHOST:{port}/", "not_public"),
]

# The local stack's mode (allow_loopback) opens exactly http://127.0.0.1:<port> and http://[::1]:<port>
LOCAL_STACK_HOSTILE: list[tuple[str, str]] = [
    ("http://127.0.0.1/", "not_https"),
    ("http://127.0.0.2:{port}/", "not_https"),
    ("http://localhost:{port}/", "not_https"),
    ("http://10.0.0.1:80/", "not_https"),
    ("http://169.254.169.254:80/latest/meta-data/", "not_https"),
    ("http://[::ffff:127.0.0.1]:{port}/", "not_https"),
    ("http://2130706433:{port}/", "invalid"),
    ("http://127.1:{port}/", "invalid"),
    ("http://hooks.example.com@127.0.0.1:{port}/", "invalid"),
    ("http://loop.attacker.example:{port}/", "not_https"),
    ("https://127.0.0.1:{port}/", "not_public"),
    ("https://loop.attacker.example:{port}/", "not_public"),
]


# ---------------------------------------------------------------- the guard and the counting listener


@dataclass
class Network:
    connects: list[Any] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    """Records every connect and name lookup of the test's thread: nothing connects outside 127.0.0.1, and no name
    but localhost is looked up in the system's resolver (both fail as the network would, without a packet)."""
    seen = Network()
    real_connect = socket.socket.connect
    real_lookup = socket.getaddrinfo
    owner = threading.get_ident()  # post() sends from the calling thread

    def connect(self: socket.socket, address: Any) -> None:
        if threading.get_ident() != owner:  # the suite's own servers and pollers, not the code under test
            return real_connect(self, address)
        seen.connects.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError("the gate connects to 127.0.0.1 only")
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
                raise socket.gaierror(socket.EAI_NONAME, "the gate makes no DNS lookups") from None
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections reaching it."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    counting = Listener()
    yield counting
    counting.stop()


def refusals(
    cases: list[tuple[str, str]],
    port: int,
    *,
    allow_loopback: bool,
    resolve: Callable[[str, int], Any],
) -> tuple[int, list[str]]:
    """Run each URL through `check` and `post`; returns (refused by both, what went wrong)."""
    wrong = []
    refused = 0
    for template, issue in cases:
        url = template.replace("{port}", str(port))
        try:
            target = check(url, allow_loopback=allow_loopback, resolve=resolve)
            wrong.append(f"check accepted {url!r}: {target}")
            continue
        except InvalidInput as exc:
            if exc.details != [{"field": "url", "issue": issue}]:
                wrong.append(f"check refused {url!r} as {exc.details}, expected {issue}")
                continue
        result = post(
            url, b"{}", {}, allow_loopback=allow_loopback, resolve=resolve, connect_timeout=1, total_timeout=2
        )
        if result.status is not None or result.refused != issue:
            wrong.append(f"post of {url!r} gave {result}")
            continue
        refused += 1
    return refused, wrong


# ---------------------------------------------------------------- the gate


def test_hostile_webhook_urls_are_refused_at_registration_and_at_send_without_a_connection(listener, network):
    refused, wrong = refusals(HOSTILE, listener.port, allow_loopback=False, resolve=attacker_resolver)
    refused_system, wrong_system = refusals(SYSTEM_RESOLVED, listener.port, allow_loopback=False, resolve=resolve_host)

    assert wrong + wrong_system == []
    assert refused + refused_system == len(HOSTILE) + len(SYSTEM_RESOLVED) >= 50
    assert network.connects == []
    assert listener.accepted == 0
    # the system resolver was asked about localhost alone (the attacker's names went to the injected resolver)
    assert {name.rstrip(".").lower() for name in network.lookups} == {"localhost"}
    figure("webhook.ssrf_urls_refused", f"{refused + refused_system} URLs, each by check and by post, 0 connections")


def test_the_local_stacks_loopback_mode_opens_nothing_else(listener, network):
    refused, wrong = refusals(LOCAL_STACK_HOSTILE, listener.port, allow_loopback=True, resolve=attacker_resolver)

    assert wrong == []
    assert refused == len(LOCAL_STACK_HOSTILE)
    assert network.connects == []
    assert listener.accepted == 0
    figure("webhook.ssrf_urls_refused_in_loopback_mode", refused)


def test_the_counting_listener_and_the_guard_see_a_connection_that_is_allowed(listener, network):
    # The control for the tests above: the same listener, reached by the one URL loopback mode allows, counts it.
    result = post(
        f"http://127.0.0.1:{listener.port}/", b"{}", {}, allow_loopback=True, connect_timeout=1, total_timeout=2
    )

    assert result.status is None  # the listener closes without answering
    assert [c[0] for c in network.connects] == ["127.0.0.1"]
    assert listener.accepted == 1


def test_a_public_url_passes_the_same_check():
    # The check refuses the list above for what it is, not for everything: the public name and address pass.
    assert check("https://hooks.example.com/in", allow_loopback=False, resolve=attacker_resolver).addresses == (
        PUBLIC_V4,
    )
    assert check(f"https://{PUBLIC_V4}/", allow_loopback=False).address == PUBLIC_V4
    assert check(f"https://[{PUBLIC_V6}]/", allow_loopback=False).address == PUBLIC_V6
    assert check("https://hooks.example.com#@127.0.0.1/", allow_loopback=False, resolve=attacker_resolver).host == (
        "hooks.example.com"
    )


def test_a_name_public_at_registration_and_private_at_send_is_refused_at_send(listener, network):
    # Given a name whose DNS answer changes after the webhook was registered (rebinding)
    answers = iter([[PUBLIC_V4], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    url = f"https://rebind.attacker.example:{listener.port}/in"
    registered = check(url, allow_loopback=False, resolve=rebinding)
    assert registered.addresses == (PUBLIC_V4,)

    # When the event is sent
    result = post(url, b"{}", {}, allow_loopback=False, resolve=rebinding, connect_timeout=1, total_timeout=2)

    # Then the send checked again, refused, and connected nowhere
    assert (result.status, result.refused) == (None, "not_public")
    assert network.connects == []
    assert listener.accepted == 0
    figure("webhook.ssrf_rebinding_refused_at_send", 1)


def test_a_send_resolves_once_and_connects_only_to_what_it_checked(listener, network):
    # Given a name that answers an allowed address once and a private one to any later lookup (rebinding inside one
    # send), and a policy that lets 127.0.0.1 through for this test only
    calls = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.1"]

    def allow(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return address == ipaddress.IPv4Address("127.0.0.1") or is_public(address)

    # When it is sent (the listener speaks no TLS: what matters is where the connection went)
    post(
        f"https://rebind.attacker.example:{listener.port}/",
        b"{}",
        {},
        allow_loopback=False,
        resolve=rebinding,
        allow=allow,
        connect_timeout=1,
        total_timeout=2,
    )

    # Then there was one lookup, one connection, to the checked address, and the system resolver saw no name
    assert calls == ["rebind.attacker.example"]
    assert [c[0] for c in network.connects] == ["127.0.0.1"]
    assert listener.accepted == 1
    assert all(_is_address(name) for name in network.lookups)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
