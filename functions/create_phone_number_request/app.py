from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.models.requests import CreatePhoneNumberRequest, PhoneNumberRequest
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import phone_requests

app = make_app()


@app.post("/telephony/phone-number-requests", status_code=201, tags=["Phone-number requests"], responses=errors(409))
def create_phone_number_request(
    body: Annotated[CreatePhoneNumberRequest, Body(openapi_examples=examples.CREATE_PHONE_NUMBER_REQUEST)],
) -> PhoneNumberRequest:
    """Request a phone number

    An admin reviews it. 409 when the number already has an open request or an owner. Spends your budget of
    phone-number requests (429 past it).
    """
    return phone_requests.create(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
