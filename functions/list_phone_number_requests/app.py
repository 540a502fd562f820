from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page, PageQuery
from telephony.models.requests import PhoneNumberRequest
from telephony.observability import observed
from telephony.services import phone_requests

app = make_app()


@app.get("/telephony/phone-number-requests", tags=["Phone-number requests"])
def list_phone_number_requests(query: Annotated[PageQuery, Query()]) -> Page[PhoneNumberRequest]:
    """List your phone-number requests"""
    return phone_requests.list_own(principal=current_principal(app), limit=query.limit, next_token=query.next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
