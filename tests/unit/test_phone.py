"""Phone-number checks that do not need the `phonenumbers` library loaded."""

from __future__ import annotations

import sys

import phonenumbers

from telephony import phone


def test_the_regions_written_out_are_the_librarys():
    assert phone.REGIONS == phonenumbers.SUPPORTED_REGIONS


def test_a_country_is_checked_without_importing_the_library(monkeypatch):
    for name in [m for m in sys.modules if m == "phonenumbers" or m.startswith("phonenumbers.")]:
        monkeypatch.delitem(sys.modules, name)

    assert phone.is_country_code("US")
    assert phone.is_country_code("GB")
    assert not phone.is_country_code("ZZ")
    assert not phone.is_country_code("us")  # the service upper-cases first
    assert "phonenumbers" not in sys.modules
