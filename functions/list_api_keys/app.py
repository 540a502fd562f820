from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.auth import ApiKeyInfo
from telephony.models.common import Page, PageQuery
from telephony.observability import observed
from telephony.services import api_keys

app = make_app()


@app.get("/api-keys", tags=["API keys"])
def list_api_keys(query: Annotated[PageQuery, Query()]) -> Page[ApiKeyInfo]:
    """List your API keys"""
    return api_keys.list_keys(principal=current_principal(app), limit=query.limit, next_token=query.next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
