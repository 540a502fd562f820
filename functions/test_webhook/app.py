from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import WebhookId
from telephony.models.webhooks import TestSent
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.post("/webhooks/<webhook_id>/test", tags=["Webhooks"], responses=errors(404))
def test_webhook(webhook_id: WebhookId) -> TestSent:
    """Send a test event

    A `webhook.test` event, to this webhook only, delivered (and retried) as any other.
    """
    return webhooks.send_test(webhook_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
