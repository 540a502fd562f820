from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.sip import RemovedConfiguration
from telephony.observability import observed
from telephony.services import number_config

app = make_app()


@app.delete("/outbound-calls/phone-numbers/<phone_number_id>/configuration")
def delete_phone_number_configuration(
    phone_number_id: str, config_type: Annotated[Literal["sip_trunk", "dispatch_rule", "all"], Query()]
) -> RemovedConfiguration:
    return number_config.delete(phone_number_id, config_type, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
