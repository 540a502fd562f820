"""Country codes are the regions `phonenumbers` holds numbering plans for."""

from __future__ import annotations

from telephony import phone


def test_a_country_is_a_region_with_a_numbering_plan():
    assert phone.is_country_code("US")
    assert phone.is_country_code("GB")
    assert not phone.is_country_code("ZZ")
    assert not phone.is_country_code("us")  # the service upper-cases first
