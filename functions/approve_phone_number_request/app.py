from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import RequestId
from telephony.models.requests import ApproveRequest, PhoneNumberRequest
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import phone_requests

app = make_app()


@app.post("/admin/phone-number-requests/<request_id>/approve", tags=["Admin"], responses=errors(404, 409))
def approve_phone_number_request(
    request_id: RequestId, body: Annotated[ApproveRequest, Body(openapi_examples=examples.APPROVE)]
) -> PhoneNumberRequest:
    """Approve a phone-number request

    Admins only (an `admin` API key, or a JWT of the `admin` group); 403 for anyone else. The workflow then
    assigns the number. 409 unless the request is pending.
    """
    return phone_requests.approve(request_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
