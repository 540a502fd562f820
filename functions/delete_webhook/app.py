from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import WebhookId
from telephony.models.webhooks import WebhookDeleted
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.delete("/webhooks/<webhook_id>", tags=["Webhooks"], responses=errors(404))
def delete_webhook(webhook_id: WebhookId) -> WebhookDeleted:
    """Delete a webhook

    Nothing more is sent to it, attempts already queued included.
    """
    webhooks.delete(webhook_id, principal=current_principal(app))
    return WebhookDeleted(webhook_id=webhook_id)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
