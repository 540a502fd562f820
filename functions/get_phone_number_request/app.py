from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import RequestId
from telephony.models.requests import PhoneNumberRequest
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import phone_requests

app = make_app()


@app.get("/telephony/phone-number-requests/<request_id>", tags=["Phone-number requests"], responses=errors(404))
def get_phone_number_request(request_id: RequestId) -> PhoneNumberRequest:
    """Get a phone-number request

    Its status: pending, approved, rejected, assigned, expired or failed; `phone_number_id` once assigned.
    """
    return phone_requests.get(request_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
