from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallDetails, DetailsQuery
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls/{call_id}/details")
def get_call_details(
    call_id: str,
    query: DetailsQuery,
) -> CallDetails:
    return calls.details(
        call_id,
        principal=current_principal(app),
        include_transcript=query.include_transcript,
        include_summary=query.include_summary,
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
