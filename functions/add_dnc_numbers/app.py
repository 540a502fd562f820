from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.models.dnc import AddDncNumbers, DncAdded
from telephony.observability import observed
from telephony.openapi import examples
from telephony.services import dnc

app = make_app()


@app.post("/dnc", tags=["Do-not-call"])
def add_dnc_numbers(body: Annotated[AddDncNumbers, Body(openapi_examples=examples.ADD_DNC_NUMBERS)]) -> DncAdded:
    """List numbers you must not call

    Up to 1,000 numbers at once, in E.164 however they are written; a call to any of them is then refused (403
    `do_not_call`) before it is dialled. One invalid number refuses the batch (400, `details` naming `numbers[i]`)
    and lists nothing. Numbers listed already keep their reason and time. A 503 may leave part of a batch listed:
    send the same request again to list the rest.
    """
    return dnc.add(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
