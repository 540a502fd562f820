from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.models.account_settings import AccountSettings, UpdateAccountSettings
from telephony.observability import observed
from telephony.openapi import examples
from telephony.services import account_settings

app = make_app()


@app.put("/account/settings", tags=["Account"])
def update_account_settings(
    body: Annotated[UpdateAccountSettings, Body(openapi_examples=examples.UPDATE_ACCOUNT_SETTINGS)],
) -> AccountSettings:
    """Change your account's settings

    Only the fields given change, inside `calling_hours` too; the answer is the whole of the settings. With
    `calling_hours.enforce` true, a call is placed only when the callee's local time is inside the window (from
    `start`, before `end`, on one of `days`) in every time zone its number may be in: a US toll-free number may be
    anywhere in the North American plan, from Guam to Newfoundland. Otherwise create-call answers 409
    `outside_calling_hours` with the next allowed time. A number with no known time zone is refused while the
    hours are enforced.
    """
    return account_settings.update(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
