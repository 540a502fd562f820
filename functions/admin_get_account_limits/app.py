from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import UserId
from telephony.models.limits import AccountLimitsView
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import limits

app = make_app()


@app.get("/admin/accounts/<user_id>/limits", tags=["Admin"], responses=errors(404))
def admin_get_account_limits(user_id: UserId) -> AccountLimitsView:
    """A user's limits and usage

    Admins only; 403 for anyone else.
    """
    return limits.of_user(user_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
