from telephony.handlers.http import Response, make_app
from telephony.observability import observed
from telephony.openapi import swagger

app = make_app(public=True)


@app.get("/docs")
def get_docs() -> Response:
    return Response(200, "text/html", swagger.page("Telephony API"))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
