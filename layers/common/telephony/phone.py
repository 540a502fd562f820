"""Phone numbers: parsing and normalising to E.164 with the `phonenumbers` library."""

from __future__ import annotations

import re
from typing import Any

from telephony.errors import InvalidInput

# + and digits with the usual separators; an extension (`;ext=`, `x12`), RFC 3966 parameters or letters
# would be parsed by `phonenumbers` and silently dropped or translated, so the number dialled is not the one given.
_DIALLABLE = re.compile(r"^\+[0-9][0-9 ().-]*$")


def _phonenumbers() -> Any:
    """The library, imported when a number is first parsed: functions that never parse one do not load it."""
    import phonenumbers

    return phonenumbers


def to_e164(raw: str, *, field: str = "phone_number") -> str:
    """Normalise a number given in international form; refuse anything that is not a valid number."""
    phonenumbers = _phonenumbers()
    text = raw.strip()
    if not _DIALLABLE.fullmatch(text):
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
    phonenumbers = _phonenumbers()
    premium = {phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST}
    return phonenumbers.number_type(phonenumbers.parse(e164, None)) in premium


def region_of(e164: str) -> str | None:
    phonenumbers = _phonenumbers()
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))


def is_country_code(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code of a region with a numbering plan."""
    return code in _phonenumbers().SUPPORTED_REGIONS


def time_zones_of(e164: str) -> tuple[str, ...] | None:
    """The IANA time zones the number may be in, by its prefix (a US toll-free number: every zone of the North
    American plan); None when the library does not know them (non-geographic numbers such as +882)."""
    from phonenumbers import timezone

    zones = tuple(timezone.time_zones_for_number(_phonenumbers().parse(e164, None)))
    return None if not zones or timezone.UNKNOWN_TIMEZONE in zones else zones
