from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import UserId
from telephony.models.limits import AccountLimitsView, LimitsUpdate
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import limits

app = make_app()


@app.put("/admin/accounts/<user_id>/limits", tags=["Admin"], responses=errors(404))
def admin_set_account_limits(
    user_id: UserId, body: Annotated[LimitsUpdate, Body(openapi_examples=examples.SET_LIMITS)]
) -> AccountLimitsView:
    """Set a user's limits

    Admins only; 403 for anyone else. Name any of the limits: the others keep their values. Each is a whole
    number from 0 up to a ceiling that catches typos (`max_concurrent_calls` 1,000, `calls_per_hour` 100,000...).
    The change holds everywhere within 30 seconds.
    """
    return limits.set_limits(user_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
