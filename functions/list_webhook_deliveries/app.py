from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import WebhookId
from telephony.models.common import Page
from telephony.models.webhooks import DeliveriesQuery, DeliveryView
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.get("/webhooks/<webhook_id>/deliveries", tags=["Webhooks"], responses=errors(404))
def list_webhook_deliveries(webhook_id: WebhookId, query: Annotated[DeliveriesQuery, Query()]) -> Page[DeliveryView]:
    """A webhook's delivery log

    One entry per attempt, newest first: what was sent (`event_id`, `type`), what came back (`response_status`,
    `duration_ms`, `error`) and, for an attempt to be retried, when (`next_attempt_at`).
    """
    return webhooks.list_deliveries(
        webhook_id, principal=current_principal(app), limit=query.limit, next_token=query.next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
