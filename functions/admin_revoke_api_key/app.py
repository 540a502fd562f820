from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import KeyId
from telephony.models.auth import ApiKeyInfo
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import api_keys

app = make_app()


@app.delete("/admin/api-keys/<key_id>", tags=["Admin"], responses=errors(404))
def admin_revoke_api_key(key_id: KeyId) -> ApiKeyInfo:
    """Revoke any user's API key

    Admins only; 403 for anyone else. Refused from the next request on, even while the authorizer's answer is
    cached; revoking a revoked key answers it as it is.
    """
    return api_keys.revoke_any(key_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
