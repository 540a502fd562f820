from telephony.handlers.http import current_principal, make_app
from telephony.models.sip import DeleteConfigurationQuery, RemovedConfiguration
from telephony.observability import observed
from telephony.services import number_config

app = make_app()


@app.delete("/outbound-calls/phone-numbers/{phone_number_id}/configuration")
def delete_phone_number_configuration(phone_number_id: str, query: DeleteConfigurationQuery) -> RemovedConfiguration:
    return number_config.delete(phone_number_id, query.config_type, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
