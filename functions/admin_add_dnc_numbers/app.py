from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.models.dnc import AddDncNumbers, DncAdded
from telephony.observability import observed
from telephony.openapi import examples
from telephony.services import dnc

app = make_app()


@app.post("/admin/dnc", tags=["Admin"])
def admin_add_dnc_numbers(body: Annotated[AddDncNumbers, Body(openapi_examples=examples.ADD_DNC_NUMBERS)]) -> DncAdded:
    """List numbers nobody may call

    Admins only; 403 for anyone else. The operator's global list, checked with each account's own on every call:
    the same batch rules as `POST /dnc`.
    """
    return dnc.add(body, principal=current_principal(app), global_list=True)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
