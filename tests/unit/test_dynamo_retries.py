"""What the repositories do when DynamoDB refuses a write for a concurrent request (dynamo.call / dynamo.transact):
tried again after a short random pause, never when a condition failed, and a 503 once the attempts are spent."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from telephony.errors import NumberTaken, StatusChanged, UpstreamUnavailable
from telephony.repositories import dynamo


def _error(code: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "Operation")  # type: ignore[arg-type]


class Answers:
    """An operation that fails with the given errors, in order, and then succeeds."""

    def __init__(self, *errors: ClientError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True}


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(dynamo.time, "sleep", slept.append)
    return slept


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(operation: Answers) -> Answers:
        client = type("Client", (), {"transact_write_items": staticmethod(operation)})()
        monkeypatch.setattr(dynamo.aws, "dynamodb", lambda: client)
        return operation

    return install


def test_a_write_refused_for_a_running_transaction_is_tried_again(pauses: list[float]) -> None:
    operation = Answers(_error("TransactionConflictException"), _error("TransactionConflictException"))
    assert dynamo.call(operation) == {"ok": True}
    assert operation.calls == 3
    assert len(pauses) == 2 and all(0 <= p <= 0.02 for p in pauses)


def test_a_lasting_refusal_is_unavailable_after_every_attempt(pauses: list[float]) -> None:
    operation = Answers(*[_error("TransactionConflictException")] * dynamo.ATTEMPTS)
    with pytest.raises(UpstreamUnavailable):
        dynamo.call(operation)
    assert operation.calls == dynamo.ATTEMPTS
    assert len(pauses) == dynamo.ATTEMPTS - 1
    assert sum(pauses) <= 0.15  # 10 + 20 + 40 + 80 ms at most


def test_a_failed_condition_is_never_tried_again(pauses: list[float]) -> None:
    operation = Answers(_error("ConditionalCheckFailedException"))
    with pytest.raises(dynamo.ConditionFailed):
        dynamo.call(operation)
    assert operation.calls == 1 and pauses == []


def test_a_cancelled_transaction_is_tried_again_when_only_contention_cancelled_it(
    pauses: list[float], transactions: Any
) -> None:
    operation = transactions(
        Answers(
            _error("TransactionCanceledException", ["None", "TransactionConflict"]),
            _error("TransactionCanceledException", ["ThrottlingError", "None"]),
        )
    )
    dynamo.transact([dynamo.Write({"Put": {}}), dynamo.Write({"Update": {}})])
    assert operation.calls == 3 and len(pauses) == 2


def test_a_transaction_cancelled_by_a_condition_is_not_tried_again(pauses: list[float], transactions: Any) -> None:
    operation = transactions(
        Answers(_error("TransactionCanceledException", ["ConditionalCheckFailed", "TransactionConflict"]))
    )
    with pytest.raises(NumberTaken):
        dynamo.transact(
            [dynamo.Write({"Put": {}}, lambda old: NumberTaken("+14155550123")), dynamo.Write({"Update": {}})]
        )
    assert operation.calls == 1 and pauses == []


def test_a_cancelled_transaction_raises_the_refusal_of_the_write_whose_condition_failed(
    pauses: list[float], transactions: Any
) -> None:
    """Whatever the order of the writes, the error is the one the failed write names (never a position)."""
    first = dynamo.Write({"Put": {}}, lambda old: NumberTaken("+14155550123"))
    second = dynamo.Write({"Update": {}}, lambda old: StatusChanged(f"was {old}"))
    for writes, reasons, expected in (
        ([first, second], ["None", "ConditionalCheckFailed"], StatusChanged),
        ([second, first], ["ConditionalCheckFailed", "None"], StatusChanged),
        ([second, first], ["None", "ConditionalCheckFailed"], NumberTaken),
    ):
        transactions(Answers(_error("TransactionCanceledException", reasons)))
        with pytest.raises(expected):
            dynamo.transact(writes)


def test_the_refusal_is_given_the_item_as_it_was(pauses: list[float], transactions: Any) -> None:
    error = _error("TransactionCanceledException", ["ConditionalCheckFailed"])
    error.response["CancellationReasons"][0]["Item"] = {"status": {"S": "approved"}}  # type: ignore[typeddict-item]
    transactions(Answers(error))
    with pytest.raises(StatusChanged, match="approved"):
        dynamo.transact([dynamo.Write({"Update": {}}, lambda old: StatusChanged(str(old and old["status"])))])


def test_a_transaction_in_conflict_every_time_is_unavailable(pauses: list[float], transactions: Any) -> None:
    operation = transactions(
        Answers(*[_error("TransactionCanceledException", ["TransactionConflict"])] * dynamo.ATTEMPTS)
    )
    with pytest.raises(UpstreamUnavailable):
        dynamo.transact([dynamo.Write({"Update": {}})])
    assert operation.calls == dynamo.ATTEMPTS and len(pauses) == dynamo.ATTEMPTS - 1
