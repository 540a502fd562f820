"""Items written straight into the tables, for tests that start from a state the API reaches slowly."""

from __future__ import annotations


def own_number(
    user_id: str,
    e164: str = "+14155550123",
    *,
    id_prefix: str = "pn_test",
    created_at: str = "2026-01-01T00:00:00.000Z",
) -> str:
    """A number owned by `user_id`, as the review workflow leaves it (assigned, unconfigured), with its E.164 claim."""
    from telephony.repositories import dynamo
    from telephony.repositories import numbers as numbers_repo

    pid = id_prefix + e164[1:]
    record = {
        "phone_number_id": pid,
        "phone_number": e164,
        "owner_id": user_id,
        "status": "active",
        "configuration_status": "unconfigured",
        "created_at": created_at,
        "updated_at": created_at,
    }
    dynamo.transact(
        [numbers_repo.claim_new_number(e164, phone_number_id=pid, owner_id=user_id), numbers_repo.put_new(record)]
    )
    return pid
