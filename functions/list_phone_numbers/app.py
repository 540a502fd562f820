from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page, PageQuery
from telephony.models.numbers import PhoneNumber
from telephony.observability import observed
from telephony.services import numbers

app = make_app()


@app.get("/outbound-calls/phone-numbers", tags=["Phone numbers"])
def list_phone_numbers(query: Annotated[PageQuery, Query()]) -> Page[PhoneNumber]:
    """List your phone numbers

    With their `configuration_status`: unconfigured, partial or configured.
    """
    return numbers.list_own(principal=current_principal(app), limit=query.limit, next_token=query.next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
