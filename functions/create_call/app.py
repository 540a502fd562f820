from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import IdempotencyKey
from telephony.models.calls import CallCreated, CreateCall
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import calls, idempotency

app = make_app()


@app.post("/outbound-calls/create", status_code=201, tags=["Calls"], responses=errors(404, 409, 422, 502))
def create_call(
    body: Annotated[CreateCall, Body(openapi_examples=examples.CREATE_CALL)],
    idempotency_key: IdempotencyKey = None,
) -> CallCreated:
    """Place an outbound call

    Dials the callee from one of your numbers that can place calls and dispatches the agent into the call's
    room. The call then moves dialing -> ringing -> in_progress -> completed (or busy, no_answer, failed,
    canceled): poll its details. Spends your budget of outbound calls (429 past it). A callee on your do-not-call
    list or the operator's is refused (403 `do_not_call`) before anything is spent or dialled.
    """
    principal = current_principal(app)
    return CallCreated.model_validate(
        idempotency.run_once(
            principal,
            idempotency_key,
            calls.fingerprint(body),
            lambda: calls.create(body, principal=principal, idempotency_key=idempotency_key).model_dump(mode="json"),
            lambda_context=app.lambda_context,
        )
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
