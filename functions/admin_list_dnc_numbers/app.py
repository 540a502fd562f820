from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page
from telephony.models.dnc import DncNumber, DncQuery
from telephony.observability import observed
from telephony.services import dnc

app = make_app()


@app.get("/admin/dnc", tags=["Admin"])
def admin_list_dnc_numbers(query: Annotated[DncQuery, Query()]) -> Page[DncNumber]:
    """List the global do-not-call numbers

    Admins only; 403 for anyone else. In the order of the numbers.
    """
    return dnc.list_numbers(
        principal=current_principal(app), limit=query.limit, next_token=query.next_token, global_list=True
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
