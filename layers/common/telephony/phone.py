"""Phone numbers: parsing and normalising to E.164 with the `phonenumbers` library."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from telephony.errors import InvalidInput

_PREMIUM = {PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST}


def to_e164(raw: str, *, field: str = "phone_number") -> str:
    """Normalise a number given in international form; refuse anything that is not a valid number."""
    text = raw.strip()
    if not text.startswith("+"):
        raise InvalidInput(
            f"{field} must be in E.164 format, starting with + and the country code (e.g. +15551234567)",
            details=[{"field": field, "issue": "not_e164"}],
        )
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"{field} is not a phone number", details=[{"field": field, "issue": "unparsable"}]) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(f"{field} is not a valid phone number", details=[{"field": field, "issue": "invalid"}])
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_premium_rate(e164: str) -> bool:
    return phonenumbers.number_type(phonenumbers.parse(e164, None)) in _PREMIUM


def region_of(e164: str) -> str | None:
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))


def is_country_code(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS
