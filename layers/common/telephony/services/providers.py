"""What each SIP provider needs, and the setup steps we hand back in `instructions`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telephony.errors import InvalidInput
from telephony.models.sip import SupportedProvider


@dataclass(frozen=True)
class Provider:
    name: str
    default_outbound_address: str | None
    auth: str  # how the provider authenticates our outbound calls
    requires_trunk: bool  # False for LiveKit numbers: LiveKit runs the SIP side
    outbound_requires_credentials: bool
    steps: tuple[str, ...]


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "livekit",
            None,
            "none",
            False,
            False,
            (
                "Buy the number in the LiveKit Cloud dashboard (Telephony > Phone numbers).",
                "Nothing to configure at a carrier: LiveKit answers the number and applies the dispatch rule "
                "{dispatch_rule_id}, which starts rooms named {room_pattern} with agent '{agent_name}'.",
            ),
        ),
        Provider(
            "twilio",
            "{trunk}.pstn.twilio.com",
            "credentials",
            True,
            False,
            (
                "Twilio Console > Elastic SIP Trunking > your trunk > Origination: add the URI {sip_uri_host}.",
                "Termination: note the termination URI ({outbound_address}) and add a credential list with the "
                "auth_username/auth_password you registered here.",
                "Numbers: attach {phone_number} to the trunk, in +E.164 form.",
                "For transfers, enable 'Call Transfer (SIP REFER)' on the trunk and allow PSTN transfer.",
            ),
        ),
        Provider(
            "vonage",
            "{trunk-domain}.sip-{region}.vonage.com",
            "credentials",
            True,
            True,
            (
                "Vonage Dashboard > SIP Trunks > your trunk: outbound calls go to {trunk-domain}.sip-{region}"
                ".vonage.com (e.g. mrassistant-developer.sip-us.vonage.com): register it as outbound_address.",
                "Vonage needs digest credentials for outbound: auth_username and auth_password are required.",
                "Inbound: point the number {phone_number} at {sip_uri}.",
            ),
        ),
        Provider(
            "telnyx",
            "sip.telnyx.com",
            "credentials",
            True,
            False,
            (
                "Telnyx Portal > SIP Connections: create a Credentials connection; its username/password are "
                "auth_username/auth_password here (Telnyx matches calls by the X-Telnyx-Username header).",
                "Inbound: set the connection's SIP URI to {sip_uri} and assign {phone_number}.",
                "Use +E.164 numbers ({phone_number}); outbound calls go to sip.telnyx.com.",
            ),
        ),
        Provider(
            "bandwidth",
            None,
            "ip",
            True,
            False,
            (
                "Bandwidth authenticates by IP: ask Bandwidth for the SIP peer host to use as outbound_address and "
                "list Bandwidth's signalling IPs in allowed_addresses.",
                "Route {phone_number} to {sip_uri} in the Bandwidth dashboard (Voice > SIP peers).",
            ),
        ),
        Provider(
            "plivo",
            "{trunk-id}.zt.plivo.com",
            "credentials",
            True,
            False,
            (
                "Plivo Console > Zentrunk: create an outbound trunk; its termination domain ({trunk-id}.zt.plivo.com)"
                " is the outbound_address, with a credentials list for auth_username/auth_password.",
                "Create an inbound trunk with primary URI {sip_uri_host} and map {phone_number} to it.",
            ),
        ),
        Provider(
            "custom",
            None,
            "credentials_or_ip",
            True,
            False,
            (
                "Send inbound calls for {phone_number} to {sip_uri} (UDP/TCP 5060, TLS 5061).",
                "Outbound calls leave LiveKit for {outbound_address} with the registered credentials.",
            ),
        ),
    )
}


def get(name: str) -> Provider:
    provider = PROVIDERS.get(name.strip().lower())
    if provider is None:
        raise InvalidInput(
            f"provider must be one of {', '.join(PROVIDERS)}", details=[{"field": "provider", "issue": "unknown"}]
        )
    return provider


def supported() -> list[SupportedProvider]:
    return [
        SupportedProvider(
            name=p.name,
            default_outbound_address=p.default_outbound_address,
            auth=p.auth,
            requires_trunk=p.requires_trunk,
        )
        for p in PROVIDERS.values()
    ]


class _Keep(dict[str, Any]):
    """A step's placeholders that have no value yet stay as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def instructions(provider: Provider, values: dict[str, Any]) -> dict[str, Any]:
    filled = _Keep(values)
    return {
        "provider": provider.name,
        "auth": provider.auth,
        "steps": [step.format_map(filled) for step in provider.steps],
        "sip_uri": values.get("sip_uri"),
    }
