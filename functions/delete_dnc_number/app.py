from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import ListedNumber
from telephony.models.dnc import DncDeleted
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import dnc

app = make_app()


@app.delete("/dnc/<phone_number>", tags=["Do-not-call"], responses=errors(404))
def delete_dnc_number(phone_number: ListedNumber) -> DncDeleted:
    """Take a number off your do-not-call list

    It may be called again, unless the operator's list holds it. 404 when your list does not hold it.
    """
    return dnc.delete(phone_number, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
