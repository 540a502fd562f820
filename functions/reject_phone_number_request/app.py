from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import RequestId
from telephony.models.requests import PhoneNumberRequest, RejectRequest
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import phone_requests

app = make_app()


@app.post("/admin/phone-number-requests/<request_id>/reject", tags=["Admin"], responses=errors(404, 409))
def reject_phone_number_request(
    request_id: RequestId, body: Annotated[RejectRequest, Body(openapi_examples=examples.REJECT)]
) -> PhoneNumberRequest:
    """Reject a phone-number request

    Admins only (an `admin` API key, or a JWT of the `admin` group); 403 for anyone else. 409 unless the request
    is pending.
    """
    return phone_requests.reject(request_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
