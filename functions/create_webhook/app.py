from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.models.webhooks import CreateWebhook, WebhookCreated
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.post("/webhooks", status_code=201, tags=["Webhooks"], responses=errors(409))
def create_webhook(body: Annotated[CreateWebhook, Body(openapi_examples=examples.CREATE_WEBHOOK)]) -> WebhookCreated:
    """Register a webhook

    Events of the types named (or `["*"]`) are POSTed to `url`, signed as Standard Webhooks v1 with the `secret` in
    this answer (shown once), at least once, retried on failure for up to a day. `url` must be https on a public
    address (400 with the reason otherwise). At most 10 webhooks per user (409).
    """
    return webhooks.create(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
