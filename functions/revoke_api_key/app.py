from telephony.handlers.http import current_principal, make_app
from telephony.models.auth import ApiKeyInfo
from telephony.observability import observed
from telephony.services import api_keys

app = make_app()


@app.delete("/api-keys/{key_id}")
def revoke_api_key(key_id: str) -> ApiKeyInfo:
    return api_keys.revoke(key_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
