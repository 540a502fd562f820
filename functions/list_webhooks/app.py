from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page
from telephony.models.webhooks import WebhookView
from telephony.observability import observed
from telephony.services import webhooks

app = make_app()


@app.get("/webhooks", tags=["Webhooks"])
def list_webhooks() -> Page[WebhookView]:
    """List your webhooks"""
    return webhooks.list_own(principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
