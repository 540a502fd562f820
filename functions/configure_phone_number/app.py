from telephony.handlers.http import current_principal, make_app
from telephony.models.sip import ConfigureRequest, NumberConfiguration
from telephony.observability import observed
from telephony.services import number_config

app = make_app()


@app.post("/outbound-calls/phone-numbers/{phone_number_id}/configure")
def configure_phone_number(phone_number_id: str, body: ConfigureRequest) -> NumberConfiguration:
    return number_config.configure(phone_number_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
