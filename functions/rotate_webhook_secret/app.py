from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import WebhookId
from telephony.models.webhooks import SecretRotated
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.post("/webhooks/<webhook_id>/rotate-secret", tags=["Webhooks"], responses=errors(404))
def rotate_webhook_secret(webhook_id: WebhookId) -> SecretRotated:
    """Rotate a webhook's secret

    The new secret is in this answer, once. For 24 hours events are signed with both the old and the new
    secret (two signatures in `webhook-signature`), so that receivers can switch without missing one.
    """
    return webhooks.rotate_secret(webhook_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
