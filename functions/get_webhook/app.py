from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import WebhookId
from telephony.models.webhooks import WebhookView
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.get("/webhooks/<webhook_id>", tags=["Webhooks"], responses=errors(404))
def get_webhook(webhook_id: WebhookId) -> WebhookView:
    """Get a webhook

    Its secret is never shown again; `disabled_reason` says why it was disabled, if it was.
    """
    return webhooks.get(webhook_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
