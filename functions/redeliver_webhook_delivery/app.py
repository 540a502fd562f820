from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import DeliveryId, WebhookId
from telephony.models.webhooks import DeliveryView
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import webhooks

app = make_app()


@app.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver", tags=["Webhooks"], responses=errors(404, 409))
def redeliver_webhook_delivery(webhook_id: WebhookId, delivery_id: DeliveryId) -> DeliveryView:
    """Deliver an event again

    The event of that delivery, sent again now as a new attempt (its own retries follow the schedule).
    """
    return webhooks.redeliver(webhook_id, delivery_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
