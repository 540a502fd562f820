from telephony.handlers.http import current_principal, make_app
from telephony.models.limits import AccountLimitsView
from telephony.observability import observed
from telephony.services import limits

app = make_app()


@app.get("/account/limits", tags=["Account"])
def get_account_limits() -> AccountLimitsView:
    """Your account's limits and what you use of them

    The limits an administrator set for your account (the API's defaults for the others), and your usage now:
    the current hour's calls, number requests, configurations and API requests, the calls live at once, your
    API keys and your numbers.
    """
    return limits.own(principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
