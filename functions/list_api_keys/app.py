from telephony.handlers.http import current_principal, make_app
from telephony.models.auth import ApiKeyInfo
from telephony.models.common import Page, PageQuery
from telephony.observability import observed
from telephony.services import api_keys

app = make_app()


@app.get("/api-keys")
def list_api_keys(query: PageQuery) -> Page[ApiKeyInfo]:
    return api_keys.list_keys(principal=current_principal(app), limit=query.limit, next_token=query.next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
