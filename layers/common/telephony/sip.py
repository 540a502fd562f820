"""SIP input safety: provider addresses, custom headers, allowed addresses and transfer targets.

Everything here is checked before LiveKit is called: a trunk address is where LiveKit sends
calls (an SSRF target if left open), custom headers go into SIP INVITEs verbatim, and a transfer
target costs money.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from telephony.errors import InvalidInput
from telephony.phone import to_e164

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_HEADER_NAME = re.compile(r"^X-[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
_ATTRIBUTE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_RESERVED_HEADER_PREFIXES = ("x-lk-",)  # LiveKit's own SIP headers
_METADATA_HOSTS = {"169.254.169.254", "fd00:ec2::254", "metadata.google.internal", "metadata"}


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details=[{"field": field, "issue": "unsafe_or_invalid"}])


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# A TLD is letters (or an IDN's punycode): a last label like `0x1` makes the name an IPv4 literal to
# inet_aton (`0x7f.0.0.0x1` is 127.0.0.1), which resolvers and SIP stacks accept.
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 one leads to (mapped, 6to4, Teredo, NAT64): where packets end up."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo:
        found += list(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _private_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and any(_private_ip(a) for a in _embedded_ipv4(address)):
        return True
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or str(address) in _METADATA_HOSTS
    )


def outbound_address(raw: str, *, field: str = "outbound_address") -> str:
    """A bare host name (or public IP) with an optional port: what LiveKit accepts, and nothing internal."""
    text = raw.strip()
    lowered = text.lower()
    if not text or any(c in text for c in "@;/?#\\ \t\r\n") or lowered.startswith(("sip:", "sips:", "tel:")):
        raise _refuse(field, f"{field} must be a bare host name such as sip.example.com, not a SIP URI")
    if "transport=" in lowered:
        raise _refuse(field, f"{field} must not carry a transport parameter; use the transport field")
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    if port is not None and (not port.isdigit() or not 0 < int(port) < 65536):
        raise _refuse(field, f"{field} has an invalid port")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if _private_ip(address):
            raise _refuse(field, f"{field} must not point to a loopback, private, link-local or metadata address")
        return text
    name = host.rstrip(".").lower()
    if name in _METADATA_HOSTS or name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
        raise _refuse(field, f"{field} must be a public host name")
    labels = name.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(labels[-1]):
        raise _refuse(field, f"{field} must be a fully qualified host name such as sip.example.com")
    return text


def allowed_addresses(raw: list[str] | None, *, field: str = "allowed_addresses") -> list[str]:
    """IP addresses or CIDR ranges a provider calls from."""
    result = []
    for item in raw or []:
        try:
            result.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError as exc:
            raise _refuse(field, f"{field} must be IP addresses or CIDR ranges; {item!r} is not") from exc
    return result


def numbers(raw: list[str] | None, *, field: str) -> list[str]:
    return [to_e164(n, field=field) for n in raw or []]


def _breaks_a_line(char: str) -> bool:
    """Control characters (C0, DEL, C1 such as NEL) and Unicode line/paragraph separators."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def custom_headers(raw: dict[str, str], *, field: str = "custom_headers") -> dict[str, str]:
    """X- headers only, none of LiveKit's own, and values that cannot smuggle another header."""
    result = {}
    for name, value in raw.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower().startswith(_RESERVED_HEADER_PREFIXES):
            raise _refuse(field, f"{field}: {name!r} is not allowed; use X- headers that do not start with X-LK-")
        if not isinstance(value, str) or len(value) > 256 or any(_breaks_a_line(c) for c in value):
            raise _refuse(field, f"{field}: the value of {name} must be printable text of at most 256 characters")
        result[name] = value
    return result


def headers_to_attributes(raw: dict[str, str], *, field: str = "headers_to_attributes") -> dict[str, str]:
    result = {}
    for header, attribute in raw.items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,63}", header) or not _ATTRIBUTE.fullmatch(attribute):
            raise _refuse(field, f"{field}: {header!r} -> {attribute!r} is not a valid header/attribute pair")
        if attribute.startswith(("sip.", "lk.")):
            raise _refuse(field, f"{field}: attribute {attribute!r} is reserved by LiveKit")
        result[header] = attribute
    return result


def transfer_target(raw: str, *, field: str = "transfer_to") -> str:
    """A destination as LiveKit takes it: `tel:+E164` or `sip:user@host`; a bare E.164 number becomes tel:."""
    text = raw.strip()
    if text.lower().startswith("tel:"):
        return "tel:" + to_e164(text[4:], field=field)
    if text.lower().startswith(("sip:", "sips:")):
        scheme, _, rest = text.partition(":")
        user, at, host = rest.partition("@")
        if not at or not user or any(c in rest for c in ";?<> \t\r\n"):
            raise _refuse(field, f"{field} must be tel:+E164 or sip:user@host without parameters")
        outbound_address(host, field=field)
        return f"{scheme.lower()}:{user}@{host}"
    return "tel:" + to_e164(text, field=field)
