from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallStats, Direction, StatsQuery
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls/stats", tags=["Calls"])
def get_call_stats() -> CallStats:
    """Statistics of your outbound calls

    Totals, counts by status, answer rate, durations, and the same for the last 24 hours.
    """
    return calls.stats(principal=current_principal(app), direction=Direction.OUTBOUND)


@app.get("/calls/stats", tags=["Calls"])
def get_call_stats_any_direction(query: Annotated[StatsQuery, Query()]) -> CallStats:
    """Statistics of your calls

    Of one `direction`, or of both when it is absent: totals, counts by status, answer rate, durations, and the
    same for the last 24 hours.
    """
    return calls.stats(principal=current_principal(app), direction=query.direction)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
