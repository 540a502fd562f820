from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page, PageQuery
from telephony.models.numbers import PhoneNumber
from telephony.observability import observed
from telephony.services import numbers

app = make_app()


@app.get("/outbound-calls/phone-numbers")
def list_phone_numbers(query: PageQuery) -> Page[PhoneNumber]:
    return numbers.list_own(principal=current_principal(app), limit=query.limit, next_token=query.next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
