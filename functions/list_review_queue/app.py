from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page
from telephony.models.requests import PhoneNumberRequest, RequestStatus
from telephony.observability import observed
from telephony.services import phone_requests

app = make_app()


@app.get("/admin/phone-number-requests")
def list_review_queue(
    status: Annotated[RequestStatus, Query()] = RequestStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Page[PhoneNumberRequest]:
    return phone_requests.review_queue(
        principal=current_principal(app), status=status, limit=limit, next_token=next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
