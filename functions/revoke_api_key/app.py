from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import KeyId
from telephony.models.auth import ApiKeyInfo
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import api_keys

app = make_app()


@app.delete("/api-keys/<key_id>", tags=["API keys"], responses=errors(404))
def revoke_api_key(key_id: KeyId) -> ApiKeyInfo:
    """Revoke an API key

    Refused from the next request on, even while the authorizer's answer is cached.
    """
    return api_keys.revoke(key_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
