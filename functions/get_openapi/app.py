import functools
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from telephony.handlers.http import make_app
from telephony.observability import observed

app = make_app(public=True)  # the API's description is public, like its Swagger UI

# Written by `make openapi` from every function's own route (local/openapi.py); a test fails when it is stale.
DOCUMENT = Path(__file__).with_name("openapi.json")


@functools.cache
def _document() -> str:
    return DOCUMENT.read_text()


@app.get(
    "/openapi.json",
    tags=["Documentation"],
    responses={200: {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
)
def get_openapi() -> Response[str]:
    """This document"""
    return Response(200, "application/json", _document())


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
