from aws_lambda_powertools.event_handler import Response

from telephony.config import settings
from telephony.handlers.http import make_app
from telephony.observability import observed
from telephony.openapi import swagger

app = make_app(public=True)


@app.get(
    "/docs",
    tags=["Documentation"],
    responses={200: {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}},
)
def get_docs() -> Response[str]:
    """Swagger UI for this document"""
    return Response(200, "text/html", swagger.page("Telephony API", settings().docs_assets_url))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
