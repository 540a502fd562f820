from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.auth import AdminKeysQuery, ApiKeyInfo
from telephony.models.common import Page
from telephony.observability import observed
from telephony.services import api_keys

app = make_app()


@app.get("/admin/api-keys", tags=["Admin"])
def admin_list_api_keys(query: Annotated[AdminKeysQuery, Query()]) -> Page[ApiKeyInfo]:
    """A user's API keys

    Admins only; 403 for anyone else. Revoked and expired keys are listed too, with their times.
    """
    return api_keys.list_for_user(
        query.user_id, principal=current_principal(app), limit=query.limit, next_token=query.next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
