"""The one configuration model. Read from the environment once, through `settings()`."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import NamedTuple

from telephony.errors import ConfigurationError


class Settings(NamedTuple):
    """Every field comes from the environment variable of the same name in capitals (the template sets them).
    A NamedTuple rather than a pydantic model: the authorizer reads it, and imports no pydantic."""

    api_keys_table: str = ""
    rate_limits_table: str = ""
    requests_table: str = ""
    numbers_table: str = ""
    calls_table: str = ""
    idempotency_table: str = ""
    events_table: str = ""
    webhooks_table: str = ""
    accounts_table: str = ""
    campaigns_table: str = ""
    campaign_engine_arn: str = ""
    webhook_queue_url: str = ""
    webhook_key_id: str = ""
    allow_loopback_webhooks: str = "false"
    # seconds after a failed attempt before the next (the first attempt is at once); then `failed`
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,50400,72000,86400"
    webhook_disable_after_seconds: int = 5 * 86400
    summary_model_id: str = ""
    summary_queue_url: str = ""
    review_state_machine_arn: str = ""
    review_timeout_seconds: int = 604800
    admin_key_max_hours: int = 24
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_roles_claim: str = "cognito:groups"
    jwt_jwks_url: str = ""
    livekit_url: str = ""
    livekit_credentials_secret_arn: str = ""
    livekit_sip_domain: str = ""
    livekit_inbound_addresses: str = ""
    sip_secrets_prefix: str = "telephony/sip"
    recordings_bucket: str = ""
    # {"mode": "key", "access_key_id", "secret_access_key"} or {"mode": "role", "role_arn", "external_id"}: how
    # LiveKit's egress gets to put recordings in the bucket
    recordings_upload_secret_arn: str = ""
    recordings_s3_endpoint: str = ""  # an S3-compatible endpoint for LiveKit's uploads; empty: AWS's own S3
    aws_region: str = "us-east-1"  # Lambda sets it: the bucket's region
    docs_assets_url: str = "https://cdn.jsdelivr.net/npm"  # where GET /docs loads Swagger UI from

    def require(self, name: str) -> str:
        """A setting this function cannot work without; a clear error when the template forgot it."""
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"setting {name.upper()} is not configured for this function")
        return str(value)

    @property
    def loopback_webhooks(self) -> bool:
        return self.allow_loopback_webhooks.lower() == "true"

    @property
    def retry_delays(self) -> list[int]:
        return [int(d) for d in self.webhook_retry_schedule.split(",") if d.strip()]

    @property
    def jwks_url(self) -> str:
        if self.jwt_jwks_url:
            return self.jwt_jwks_url
        return self.jwt_issuer.rstrip("/") + "/.well-known/jwks.json"


@lru_cache(maxsize=1)
def settings() -> Settings:
    values: dict[str, object] = {}
    for name, default in Settings._field_defaults.items():
        raw = os.environ.get(name.upper())
        if raw is None:
            continue
        if isinstance(default, int):
            try:
                values[name] = int(raw)
            except ValueError:
                raise ConfigurationError(f"setting {name.upper()} must be a whole number, not {raw!r}") from None
        else:
            values[name] = raw
    return Settings(**values)  # type: ignore[arg-type]
