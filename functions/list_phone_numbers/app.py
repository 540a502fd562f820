from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page
from telephony.models.numbers import PhoneNumber
from telephony.observability import observed
from telephony.services import numbers

app = make_app()


@app.get("/outbound-calls/phone-numbers")
def list_phone_numbers(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Page[PhoneNumber]:
    return numbers.list_own(principal=current_principal(app), limit=limit, next_token=next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
