from telephony.handlers.http import current_principal, make_app
from telephony.models.requests import PhoneNumberRequest, RejectRequest
from telephony.observability import observed
from telephony.services import phone_requests

app = make_app()


@app.post("/admin/phone-number-requests/{request_id}/reject")
def reject_phone_number_request(request_id: str, body: RejectRequest) -> PhoneNumberRequest:
    return phone_requests.reject(request_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
