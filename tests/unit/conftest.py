"""The services' unit tests: each starts with no account limits remembered (services/limits.py keeps them for a
while per process, as a warm function does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    from telephony.services import limits

    limits.forget()
    yield
    limits.forget()
