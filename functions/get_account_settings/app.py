from telephony.handlers.http import current_principal, make_app
from telephony.models.account_settings import AccountSettings
from telephony.observability import observed
from telephony.services import account_settings

app = make_app()


@app.get("/account/settings", tags=["Account"])
def get_account_settings() -> AccountSettings:
    """Get your account's settings

    `calling_hours`: the window of the callee's local time in which calls may be placed, and whether it is enforced.
    An account that never changed its settings has the defaults: 08:00 to 21:00, every day, not enforced.
    """
    return account_settings.get(principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
