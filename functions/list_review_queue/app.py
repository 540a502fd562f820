from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page
from telephony.models.requests import PhoneNumberRequest, ReviewQueueQuery
from telephony.observability import observed
from telephony.services import phone_requests

app = make_app()


@app.get("/admin/phone-number-requests", tags=["Admin"])
def list_review_queue(query: Annotated[ReviewQueueQuery, Query()]) -> Page[PhoneNumberRequest]:
    """The review queue

    Admins only (an `admin` API key, or a JWT of the `admin` group); 403 for anyone else.
    """
    return phone_requests.review_queue(
        principal=current_principal(app), status=query.status, limit=query.limit, next_token=query.next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
