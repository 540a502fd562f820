from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page
from telephony.models.requests import PhoneNumberRequest, ReviewQueueQuery
from telephony.observability import observed
from telephony.services import phone_requests

app = make_app()


@app.get("/admin/phone-number-requests")
def list_review_queue(
    query: ReviewQueueQuery,
) -> Page[PhoneNumberRequest]:
    return phone_requests.review_queue(
        principal=current_principal(app), status=query.status, limit=query.limit, next_token=query.next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
