from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.auth import ApiKeyInfo
from telephony.models.common import Page
from telephony.observability import observed
from telephony.services import api_keys

app = make_app()


@app.get("/api-keys")
def list_api_keys(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Page[ApiKeyInfo]:
    return api_keys.list_keys(principal=current_principal(app), limit=limit, next_token=next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
