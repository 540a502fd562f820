from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import ListedNumber
from telephony.models.dnc import DncNumber
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import dnc

app = make_app()


@app.get("/admin/dnc/<phone_number>", tags=["Admin"], responses=errors(404))
def admin_get_dnc_number(phone_number: ListedNumber) -> DncNumber:
    """Get a number of the global do-not-call list

    Admins only; 403 for anyone else. 404 when the global list does not hold it.
    """
    return dnc.get(phone_number, principal=current_principal(app), global_list=True)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
