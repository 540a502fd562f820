from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallDetails
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls/<call_id>/details")
def get_call_details(
    call_id: str,
    include_transcript: Annotated[bool, Query()] = False,
    include_summary: Annotated[bool, Query()] = False,
) -> CallDetails:
    return calls.details(
        call_id,
        principal=current_principal(app),
        include_transcript=include_transcript,
        include_summary=include_summary,
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
