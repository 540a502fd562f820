from telephony.handlers.http import current_principal, make_app
from telephony.models.requests import CreatePhoneNumberRequest, PhoneNumberRequest
from telephony.observability import observed
from telephony.services import phone_requests

app = make_app()


@app.post("/telephony/phone-number-requests", status_code=201)
def create_phone_number_request(body: CreatePhoneNumberRequest) -> PhoneNumberRequest:
    return phone_requests.create(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
