"""Every repository of the application, made once per process: what services take as `store`."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from telephony.repositories.account_settings import AccountSettingsRepository
from telephony.repositories.accounts import AccountsRepository
from telephony.repositories.api_keys import ApiKeysRepository
from telephony.repositories.calls import CallsRepository
from telephony.repositories.campaigns import CampaignsRepository
from telephony.repositories.dnc import DncRepository
from telephony.repositories.events import EventsRepository
from telephony.repositories.idempotency import IdempotencyRepository
from telephony.repositories.numbers import NumbersRepository
from telephony.repositories.rate_limits import RateLimitsRepository
from telephony.repositories.recordings import RecordingsRepository
from telephony.repositories.requests import RequestsRepository
from telephony.repositories.webhooks import WebhooksRepository


class Store(NamedTuple):
    api_keys: ApiKeysRepository
    rate_limits: RateLimitsRepository
    requests: RequestsRepository
    numbers: NumbersRepository
    calls: CallsRepository
    idempotency: IdempotencyRepository
    events: EventsRepository
    webhooks: WebhooksRepository
    accounts: AccountsRepository
    dnc: DncRepository
    account_settings: AccountSettingsRepository
    campaigns: CampaignsRepository
    recordings: RecordingsRepository


@cache
def default_store() -> Store:
    return Store(
        api_keys=ApiKeysRepository(),
        rate_limits=RateLimitsRepository(),
        requests=RequestsRepository(),
        numbers=NumbersRepository(),
        calls=CallsRepository(),
        idempotency=IdempotencyRepository(),
        events=EventsRepository(),
        webhooks=WebhooksRepository(),
        accounts=AccountsRepository(),
        dnc=DncRepository(),
        account_settings=AccountSettingsRepository(),
        campaigns=CampaignsRepository(),
        recordings=RecordingsRepository(),
    )
