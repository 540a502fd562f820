from telephony.handlers.http import current_principal, make_app
from telephony.models.auth import ApiKeyCreated, CreateApiKey
from telephony.observability import observed
from telephony.services import api_keys

app = make_app()


@app.post("/api-keys", status_code=201)
def create_api_key(body: CreateApiKey) -> ApiKeyCreated:
    return api_keys.create(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
