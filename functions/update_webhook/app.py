from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import WebhookId
from telephony.models.webhooks import UpdateWebhook, WebhookView
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.patch("/webhooks/<webhook_id>", tags=["Webhooks"], responses=errors(404))
def update_webhook(webhook_id: WebhookId, body: Annotated[UpdateWebhook, Body()]) -> WebhookView:
    """Change a webhook

    Only the fields given change. Enabling a disabled webhook clears its `disabled_reason`.
    """
    return webhooks.update(webhook_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
