from aws_lambda_powertools.event_handler import Response, content_types

from telephony.handlers.http import make_app
from telephony.observability import observed
from telephony.openapi import swagger

app = make_app(public=True)


@app.get("/docs")
def get_docs() -> Response[str]:
    return Response(200, content_types.TEXT_HTML, swagger.page("Telephony API"))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
