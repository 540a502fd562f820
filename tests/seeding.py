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
    default_store().numbers.create(number, charge=None, max_numbers=10_000)  # counted, not limited: seeding
    return pid


def delivery(owner_id: str, webhook_id: str, *, event_id: str, event_type: str = "webhook.test") -> str:
    """A finished delivery of `webhook_id`, as the deliverer leaves one, for routes that name a delivery."""
    from telephony.models.webhooks import DeliveryRecord
    from telephony.repositories.store import default_store
    from telephony.util import new_id, now_iso

    at = now_iso()
    record = DeliveryRecord(
        delivery_id=new_id("dl"),
        webhook_id=webhook_id,
        owner_id=owner_id,
        event_id=event_id,
        type=event_type,
        attempt=1,
        status="succeeded",
        response_status=200,
        duration_ms=12,
        created_at=at,
        updated_at=at,
    )
    default_store().webhooks.add_delivery(record)
    return record.delivery_id


def set_limits(user_id: str, **limits: int) -> None:
    """The account's limits, as an administrator sets them; every function reads them afresh."""
    from telephony.repositories.store import default_store
    from telephony.services import limits as account_limits

    default_store().accounts.set_limits(user_id, limits)
    account_limits.forget(user_id)
