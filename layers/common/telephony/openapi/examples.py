"""Request examples of the OpenAPI document, those of the Register Phone Number API among them: named OpenAPI
Example Objects, given to each route's `Body(openapi_examples=...)`. Tests validate every one against its model
and its schema, and post them to the API."""

from __future__ import annotations

from typing import Any

from telephony.models.sip import AGENT_FEATURES_EXAMPLE, DTMF_CONFIG_EXAMPLE, TRANSFER_CONFIG_EXAMPLE

REGISTER_PHONE_NUMBER: dict[str, Any] = {
    "twilio": {
        "summary": "A Twilio number, inbound and outbound, every field",
        "value": {
            "phone_number": "+14155550142",
            "provider": "twilio",
            "trunk_numbers": ["+14155550142"],
            "allowed_addresses": [],
            "allowed_numbers": [],
            "auth_username": "livekit",
            "auth_password": "s3cret-Passw0rd",  # an example in the API document  # nosec B105
            "enable_outbound": True,
            "outbound_address": "example.pstn.twilio.com",
            "outbound_numbers": ["+14155550142"],
            "outbound_transport": "AUTO",
            "destination_country": "US",
            "media_encryption": "ALLOW",
            "krisp_enabled": True,
            "ringing_timeout_seconds": 30,
            "max_call_duration_seconds": 3600,
            "hide_phone_number": False,
            "custom_headers": {"X-Customer": "acme"},
            "headers_to_attributes": {"X-Customer": "customer"},
            "dtmf_config": DTMF_CONFIG_EXAMPLE,
            "transfer_config": TRANSFER_CONFIG_EXAMPLE,
            "agent_features": AGENT_FEATURES_EXAMPLE,
            "metadata": {"team": "support"},
            "provider_config": {},
        },
    },
    "livekit": {
        "summary": "A number bought in LiveKit Cloud: no trunk to configure",
        "value": {"phone_number": "+14155550143", "provider": "livekit"},
    },
}

CONFIGURE: dict[str, Any] = {
    "both": {
        "summary": "SIP trunks and a dispatch rule",
        "value": {
            "sip_trunk": {
                "name": "main",
                "address": "sip.telnyx.com",
                "numbers": ["+14155550123"],
                "auth_username": "me",
                "auth_password": "s3cret",  # an example in the API document  # nosec B105
                "destination_country": "US",
                "transport": "AUTO",
            },
            "dispatch_rule": {"rule_name": "support", "room_prefix": "support-", "agent_name": "support-agent"},
        },
    },
    "dispatch_rule": {
        "summary": "Only the dispatch rule",
        "value": {"dispatch_rule": {"rule_name": "sales", "room_prefix": "sales-", "agent_name": "sales-agent"}},
    },
}

CREATE_CALL: dict[str, Any] = {
    "minimal": {"summary": "Call a number with your default agent", "value": {"phone_number": "+14155550199"}},
    "full": {
        "summary": "Every option",
        "value": {
            "phone_number": "+14155550199",
            "from_phone_number_id": "pn_01hz3k9v6r2m8q4t7w1y5b0c3d",
            "agent_name": "support-agent",
            "system_prompt": "You are a friendly support agent. Be brief.",
            "welcome_message": "Hi! This is Acme support.",
            "voice": {"provider": "cartesia", "voice_id": "sonic-english", "speed": 1.0, "language": "en"},
            "metadata": {"ticket": "T-1042"},
            "ringing_timeout_seconds": 30,
            "max_call_duration_seconds": 900,
        },
    },
}

CREATE_PHONE_NUMBER_REQUEST: dict[str, Any] = {
    "by_area": {
        "summary": "Any local number in an area",
        "value": {"country": "US", "area_code": "415", "number_type": "local", "purpose": "Support line"},
    },
    "specific": {
        "summary": "A specific number",
        "value": {"phone_number": "+14155550123", "country": "US", "provider": "twilio"},
    },
}

APPROVE: dict[str, Any] = {"approve": {"value": {"phone_number": "+14155550123", "note": "ok"}}}
REJECT: dict[str, Any] = {"reject": {"value": {"reason": "We cannot offer numbers in this area yet"}}}
CREATE_API_KEY: dict[str, Any] = {
    "user": {"summary": "A key for a laptop", "value": {"name": "laptop"}},
    "agent": {"summary": "A key for an agent posting call events", "value": {"name": "support-agent", "role": "agent"}},
}
TRANSFER: dict[str, Any] = {
    "cold": {"summary": "Cold transfer (SIP REFER)", "value": {"transfer_to": "tel:+15105550100"}},
    "warm": {
        "summary": "Warm transfer",
        "value": {"transfer_to": "+15105550100", "mode": "warm", "play_dialtone": True},
    },
}
CALL_EVENTS: dict[str, Any] = {
    "events": {
        "value": {
            "transcript": [
                {"role": "agent", "text": "Hi! This is Acme support.", "at": "2025-01-01T10:00:01Z"},
                {"role": "user", "text": "Hello, my order is late.", "at": "2025-01-01T10:00:04Z"},
            ],
            "summary": "The caller asked about a late order.",
        }
    }
}
CREATE_WEBHOOK: dict[str, Any] = {
    "calls": {
        "summary": "A call's life",
        "value": {
            "url": "https://hooks.example.com/telephony",
            "events": ["call.ringing", "call.answered", "call.ended"],
            "description": "CRM sync",
        },
    },
    "everything": {"summary": "Every event", "value": {"url": "https://hooks.example.com/all", "events": ["*"]}},
}

SET_LIMITS: dict[str, Any] = {
    "concurrency": {"summary": "More calls at once", "value": {"max_concurrent_calls": 25}},
    "volume": {
        "summary": "A high-volume account",
        "value": {"calls_per_hour": 2000, "max_concurrent_calls": 50, "api_requests_per_hour": 20000},
    },
}

ADD_DNC_NUMBERS: dict[str, Any] = {
    "opt_out": {
        "summary": "A callee asked not to be called again",
        "value": {"numbers": ["+14155550123"], "reason": "asked not to be called (call_01m7zxwy89bcdhmcccyvc772rz)"},
    },
    "import": {
        "summary": "An imported list, written any way",
        "value": {"numbers": ["+1 415 555 0124", "+1 (415) 555-0125", "+442071838750"], "reason": "CRM import"},
    },
}

UPDATE_ACCOUNT_SETTINGS: dict[str, Any] = {
    "enforce": {
        "summary": "US calling hours, enforced",
        "value": {"calling_hours": {"start": "08:00", "end": "21:00", "enforce": True}},
    },
    "weekdays": {
        "summary": "Weekdays only (the other fields keep their values)",
        "value": {"calling_hours": {"days": ["mon", "tue", "wed", "thu", "fri"]}},
    },
}

CREATE_CAMPAIGN: dict[str, Any] = {
    "minimal": {
        "summary": "Call two contacts with the number's agent",
        "value": {
            "name": "Renewals",
            "from_phone_number_id": "pn_01hz3k9v6r2m8q4t7w1y5b0c3d",
            "contacts": [{"phone_number": "+14155550101"}, {"phone_number": "+14155550102"}],
        },
    },
    "full": {
        "summary": "Every option",
        "value": {
            "name": "Renewals, March",
            "from_phone_number_id": "pn_01hz3k9v6r2m8q4t7w1y5b0c3d",
            "agent_name": "renewals-agent",
            "system_prompt": "Remind the customer that their plan renews. Be brief.",
            "welcome_message": "Hi {first_name}, this is Acme.",
            "metadata": {"team": "renewals"},
            "contacts": [
                {"phone_number": "+14155550101", "variables": {"first_name": "Ada"}, "metadata": {"crm_id": "C-1"}},
                {"phone_number": "+14155550102", "variables": {"first_name": "Alan"}},
            ],
            "schedule": {"start_at": "2026-03-02T09:00:00-08:00", "end_at": "2026-03-06T18:00:00-08:00"},
            "calling_window": {
                "start": "09:00",
                "end": "20:00",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "timezone": "callee",
            },
            "max_concurrency": 10,
            "retry": {"on": ["busy", "no_answer"], "max_attempts": 3, "delay_seconds": 3600},
        },
    },
}
