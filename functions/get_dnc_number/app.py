from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import ListedNumber
from telephony.models.dnc import DncNumber
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import dnc

app = make_app()


@app.get("/dnc/<phone_number>", tags=["Do-not-call"], responses=errors(404))
def get_dnc_number(phone_number: ListedNumber) -> DncNumber:
    """Get a number of your do-not-call list

    404 when your list does not hold it.
    """
    return dnc.get(phone_number, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
