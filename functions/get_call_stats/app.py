from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallStats
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls/stats", tags=["Calls"])
def get_call_stats() -> CallStats:
    """Statistics of your calls

    Totals, counts by status, answer rate, durations, and the same for the last 24 hours.
    """
    return calls.stats(principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
