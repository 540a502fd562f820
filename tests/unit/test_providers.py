"""The setup instructions a registered number's answer carries."""

from __future__ import annotations

import re
from dataclasses import replace

from telephony.services import providers


def test_steps_are_filled_and_a_placeholder_without_a_value_stays_as_written():
    provider = replace(providers.get("custom"), steps=("Point {phone_number} at {sip_uri}.", "Then ask {support}."))

    answer = providers.instructions(provider, {"phone_number": "+14155550100", "sip_uri": "sip:+14155550100@x"})

    assert answer["steps"] == ["Point +14155550100 at sip:+14155550100@x.", "Then ask {support}."]
    assert answer["provider"] == "custom"
    assert answer["sip_uri"] == "sip:+14155550100@x"


def test_every_provider_fills_what_a_registration_gives_and_keeps_its_own_placeholders():
    values = {
        "sip_uri": "sip:+14155550100@sip.example",
        "sip_uri_host": "sip:sip.example",
        "phone_number": "+14155550100",
        "outbound_address": "out.example",
        "dispatch_rule_id": "SDR_1",
        "room_pattern": "agent_<caller>_<random>",
        "agent_name": "agent",
    }
    kept = set()
    for provider in providers.PROVIDERS.values():
        for step in providers.instructions(provider, values)["steps"]:
            assert not [key for key in values if "{" + key + "}" in step], (provider.name, step)
            kept.update(re.findall(r"\{([^}]*)\}", step))
    assert kept == {"trunk-domain", "region", "trunk-id"}  # the customer's own: their trunk's name and region
