from telephony.handlers.http import make_app
from telephony.observability import observed
from telephony.openapi.document import document

app = make_app(public=True)  # the API's description is public, like its Swagger UI


@app.get("/openapi.json")
def get_openapi() -> dict:
    return document()


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
