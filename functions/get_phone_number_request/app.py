from telephony.handlers.http import current_principal, make_app
from telephony.models.requests import PhoneNumberRequest
from telephony.observability import observed
from telephony.services import phone_requests

app = make_app()


@app.get("/telephony/phone-number-requests/{request_id}")
def get_phone_number_request(request_id: str) -> PhoneNumberRequest:
    return phone_requests.get(request_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
