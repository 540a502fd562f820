"""Phone numbers: parsing and normalising to E.164 with the `phonenumbers` library."""

from __future__ import annotations

import re
from typing import Any

from telephony.errors import InvalidInput

# + and digits with the usual separators; an extension (`;ext=`, `x12`), RFC 3966 parameters or letters
# would be parsed by `phonenumbers` and silently dropped or translated, so the number dialled is not the one given.
_DIALLABLE = re.compile(r"^\+[0-9][0-9 ().-]*$")


def _phonenumbers() -> Any:
    """The library, imported on first use: it costs tens of ms of cold start to functions that never parse a number."""
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
    return code in REGIONS


# The regions `phonenumbers` holds numbering plans for (its SUPPORTED_REGIONS), written out so that checking a
# request's country does not import the library: 21-29 ms of a number request's first event, measured in the
# bench's cold child. tests/unit/test_phone.py fails when the library's set and this one differ.
_REGION_CODES = """
    AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ
    FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
    MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK
    PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA
    TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
REGIONS = frozenset(_REGION_CODES.split())
