from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallCreated, CreateCall
from telephony.observability import observed
from telephony.services import calls, idempotency

app = make_app()


@app.post("/outbound-calls/create", status_code=201)
def create_call(body: CreateCall) -> CallCreated:
    principal = current_principal(app)
    key = app.current_event.headers.get("idempotency-key")
    return CallCreated.model_validate(
        idempotency.run_once(
            principal,
            key,
            calls.fingerprint(body),
            lambda: calls.create(body, principal=principal, idempotency_key=key).model_dump(mode="json"),
            lambda_context=app.lambda_context,
        )
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
