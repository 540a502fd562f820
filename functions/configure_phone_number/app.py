from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import PhoneNumberId
from telephony.models.sip import ConfigureRequest, NumberConfiguration
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import number_config

app = make_app()


@app.post(
    "/outbound-calls/phone-numbers/<phone_number_id>/configure", tags=["Phone numbers"], responses=errors(404, 409, 502)
)
def configure_phone_number(
    phone_number_id: PhoneNumberId, body: Annotated[ConfigureRequest, Body(openapi_examples=examples.CONFIGURE)]
) -> NumberConfiguration:
    """Configure a phone number in LiveKit

    Creates or replaces its SIP trunks (inbound and outbound) and dispatch rule; give at least one of
    `sip_trunk`, `dispatch_rule`. Nothing is left half-made in LiveKit when it fails. A rule on a number without
    an inbound trunk takes only calls to that number. 409 for a number registered to an agent: its configuration
    follows the registration. Spends your budget of configurations (429 past it).
    """
    return number_config.configure(phone_number_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
