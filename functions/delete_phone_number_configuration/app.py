from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import PhoneNumberId
from telephony.models.sip import DeleteConfigurationQuery, RemovedConfiguration
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import number_config

app = make_app()


@app.delete(
    "/outbound-calls/phone-numbers/<phone_number_id>/configuration",
    tags=["Phone numbers"],
    responses=errors(404, 409, 502),
)
def delete_phone_number_configuration(
    phone_number_id: PhoneNumberId, query: Annotated[DeleteConfigurationQuery, Query()]
) -> RemovedConfiguration:
    """Remove a phone number's configuration

    Removed in LiveKit first, then here. 409 for a number registered to an agent (unregister it).
    """
    return number_config.delete(phone_number_id, query.config_type, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
