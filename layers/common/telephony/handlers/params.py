"""The path and header parameters routes share, declared once with what the OpenAPI document says of them."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path

KeyId = Annotated[str, Path(description="An API key id (`ak_...`)")]
RequestId = Annotated[str, Path(description="A phone-number request id (`req_...`)")]
PhoneNumberId = Annotated[str, Path(description="A phone number id (`pn_...`)")]
AgentId = Annotated[str, Path(description="The agent's id, a UUID", json_schema_extra={"format": "uuid"})]
CallId = Annotated[str, Path(description="A call id (`call_...`)")]
CampaignId = Annotated[str, Path(description="A campaign id (`cmp_...`)")]
WebhookId = Annotated[str, Path(description="A webhook id (`wh_...`)")]
DeliveryId = Annotated[str, Path(description="A delivery id (`dl_...`)")]
UserId = Annotated[str, Path(description="A user's id, as the identity provider names it (the JWT's `sub`)")]
ListedNumber = Annotated[
    str, Path(description="A phone number in E.164 (`+14155550123`); its + may be sent encoded (`%2B14155550123`)")
]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Send the same key again (with the same body) to get the first answer instead of a second "
        "call, for 24 hours. The same key with another body is 422.",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
    ),
]
