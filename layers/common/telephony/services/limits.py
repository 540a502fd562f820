"""An account's limits: read for every budget it spends (kept briefly per container, so an administrator's change
holds everywhere within `CACHE_SECONDS`), shown to the account with what it uses, set by administrators."""

from __future__ import annotations

import threading
import time

from telephony.errors import Forbidden
from telephony.models.budgets import API_USER, CALLS, CONFIGURATIONS, NUMBER_REQUESTS, Charge, window_of
from telephony.models.limits import AccountLimits, AccountLimitsView, AccountUsage, LimitsUpdate
from telephony.models.principal import Principal
from telephony.repositories import keys
from telephony.repositories.store import Store, default_store
from telephony.util import epoch

CACHE_SECONDS = 30.0
_MAX_CACHED = 10_000  # accounts a container remembers; past that it starts afresh
_cached: dict[str, tuple[float, AccountLimits]] = {}
_lock = threading.Lock()


def of(owner_id: str, *, store: Store | None = None) -> AccountLimits:
    """The account's limits, read at most `CACHE_SECONDS` ago."""
    moment = time.monotonic()
    with _lock:
        hit = _cached.get(owner_id)
    if hit is not None and hit[0] > moment:
        return hit[1]
    limits = (store or default_store()).accounts.limits(owner_id)
    with _lock:
        if len(_cached) >= _MAX_CACHED:
            _cached.clear()
        _cached[owner_id] = (moment + CACHE_SECONDS, limits)
    return limits


def forget(owner_id: str | None = None) -> None:
    """Read the account's limits (every account's, without one) afresh next time."""
    with _lock:
        if owner_id is None:
            _cached.clear()
        else:
            _cached.pop(owner_id, None)


def view(owner_id: str, *, store: Store | None = None) -> AccountLimitsView:
    """The account's limits and what it uses of them now."""
    db = store or default_store()
    limits = db.accounts.limits(owner_id)
    start = window_of(epoch())
    hits = db.rate_limits.hits(
        [Charge(b, f"user:{owner_id}", start, 0) for b in (CALLS, NUMBER_REQUESTS, CONFIGURATIONS, API_USER)]
    )
    usage = AccountUsage(
        calls_this_hour=hits[0],
        number_requests_this_hour=hits[1],
        configurations_this_hour=hits[2],
        api_requests_this_hour=hits[3],
        live_calls=db.accounts.live_count(owner_id),
        api_keys=db.api_keys.active_count(owner_id),
        numbers=db.accounts.numbers(owner_id),
    )
    return AccountLimitsView(user_id=owner_id, limits=limits, usage=usage)


def own(*, principal: Principal, store: Store | None = None) -> AccountLimitsView:
    return view(principal.user_id, store=store)


def _admin(principal: Principal, user_id: str) -> str:
    if not principal.is_admin:
        raise Forbidden("only admins can see or set another account's limits")
    return keys.user(user_id)


def of_user(user_id: str, *, principal: Principal, store: Store | None = None) -> AccountLimitsView:
    """Admin: any user's limits and usage."""
    return view(_admin(principal, user_id), store=store)


def set_limits(
    user_id: str, body: LimitsUpdate, *, principal: Principal, store: Store | None = None
) -> AccountLimitsView:
    """Admin: change some of a user's limits; the whole of them, with the usage, in answer. The change holds in
    every function within `CACHE_SECONDS`."""
    db = store or default_store()
    user_id = _admin(principal, user_id)
    fields = body.model_dump(exclude_none=True)
    if fields:
        db.accounts.set_limits(user_id, fields)
        forget(user_id)
    return view(user_id, store=db)
