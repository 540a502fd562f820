"""The one configuration model. Read from the environment once, through `settings()`."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from telephony.errors import ConfigurationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    api_keys_table: str = ""
    rate_limits_table: str = ""
    requests_table: str = ""
    numbers_table: str = ""
    calls_table: str = ""
    idempotency_table: str = ""
    summary_model_id: str = ""
    review_state_machine_arn: str = ""
    review_timeout_seconds: int = 604800
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_jwks_url: str = ""
    livekit_url: str = ""
    livekit_credentials_secret_arn: str = ""
    livekit_sip_domain: str = ""
    livekit_inbound_addresses: str = ""
    sip_secrets_prefix: str = "telephony/sip"

    def require(self, name: str) -> str:
        """A setting this function cannot work without; a clear error when the template forgot it."""
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"setting {name.upper()} is not configured for this function")
        return str(value)

    @property
    def jwks_url(self) -> str:
        if self.jwt_jwks_url:
            return self.jwt_jwks_url
        return self.jwt_issuer.rstrip("/") + "/.well-known/jwks.json"


@lru_cache(maxsize=1)
def settings() -> Settings:
    fields = Settings.model_fields
    return Settings.model_validate({key.lower(): value for key, value in os.environ.items() if key.lower() in fields})
