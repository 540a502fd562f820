from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import PhoneNumberId
from telephony.models.sip import NumberConfiguration
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import number_config

app = make_app()


@app.get("/outbound-calls/phone-numbers/<phone_number_id>/configuration", tags=["Phone numbers"], responses=errors(404))
def get_phone_number_configuration(phone_number_id: PhoneNumberId) -> NumberConfiguration:
    """Get a phone number's configuration

    Without secrets: `auth_configured` tells whether a SIP password is stored.
    """
    return number_config.get(phone_number_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
