"""Items written straight into the tables, for tests that start from a state the API reaches slowly."""

from __future__ import annotations


def own_number(
    user_id: str,
    e164: str = "+14155550123",
    *,
    id_prefix: str = "pn_test",
    pid: str | None = None,
    created_at: str = "2026-01-01T00:00:00.000Z",
) -> str:
    """A number owned by `user_id`, as the review workflow leaves it (assigned, unconfigured), with its E.164 claim."""
    from telephony.models.numbers import NumberRecord
    from telephony.repositories.store import default_store

    pid = pid or id_prefix + e164[1:]
    number = NumberRecord(
        phone_number_id=pid, phone_number=e164, owner_id=user_id, created_at=created_at, updated_at=created_at
    )
    default_store().numbers.create(number, charge=None)
    return pid
