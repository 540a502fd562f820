from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.models.auth import ApiKeyCreated, CreateApiKey
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import api_keys

app = make_app()


@app.post("/api-keys", status_code=201, tags=["API keys"], responses=errors(409))
def create_api_key(body: Annotated[CreateApiKey, Body(openapi_examples=examples.CREATE_API_KEY)]) -> ApiKeyCreated:
    """Create an API key

    The key is in the answer once; only its hash is stored. A user holds at most 20 unrevoked keys (409 beyond;
    expired ones are revoked to make room). Only admins create `admin` keys, signed in with their token (not with
    another key), and an admin key expires within a day.
    """
    return api_keys.create(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
