"""The request service with a fake requests repository and a fake workflow: no AWS at all."""

from __future__ import annotations

from typing import Any

import pytest

from telephony.errors import BudgetSpent, NotFound, NumberTaken, StatusChanged, UpstreamUnavailable
from telephony.models.budgets import Charge
from telephony.models.principal import Principal, Role
from telephony.models.requests import CreatePhoneNumberRequest, RequestRecord, RequestStatus, Review
from telephony.repositories.requests import ClaimChange
from telephony.services import phone_requests
from tests.unit.fakes import fake_store

ALICE = Principal(user_id="usr_alice", role=Role.USER, auth_type="api_key", key_id="ak_x")


class FakeRequests:
    def __init__(self) -> None:
        self.created: list[tuple[RequestRecord, Charge]] = []
        self.deleted: list[tuple[RequestRecord, Charge]] = []
        self.fail_create: Exception | None = None
        self.stored: dict[str, str] = {}
        self.current: RequestRecord | None = None

    def create(self, record: RequestRecord, *, charge: Charge) -> None:
        if self.fail_create:
            raise self.fail_create
        self.created.append((record, charge))

    def delete(self, record: RequestRecord, *, refund: Charge) -> None:
        self.deleted.append((record, refund))

    def get(self, request_id: str) -> RequestRecord | None:
        return self.current

    def store_task_token(self, request_id: str, token: str, **kw: Any) -> None:
        if self.current is not None and self.current.status is not RequestStatus.PENDING:
            raise StatusChanged("not pending")
        if self.current is None and self.stored.get("missing"):
            raise NotFound("no such request")
        self.stored[request_id] = token

    def move(self, record: RequestRecord, to: RequestStatus, *, claims: ClaimChange | None = None, **kw: Any) -> Any:
        raise AssertionError("not expected here")


class FakeWorkflow:
    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[tuple[str, Any]] = []

    def start(self, arn: str, *, name: str, payload: dict[str, Any]) -> None:
        if self.down:
            raise UpstreamUnavailable("down")
        self.started.append((name, payload))

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self.sent.append(("success", output))

    def fail(self, token: str, *, error: str, cause: str) -> None:
        self.sent.append(("failure", error))


@pytest.fixture(autouse=True)
def configured(monkeypatch):
    from telephony import config

    monkeypatch.setattr(
        phone_requests,
        "settings",
        lambda: config.Settings(review_state_machine_arn="arn:sm", review_timeout_seconds=42),
    )


def _store(requests: FakeRequests) -> Any:
    return fake_store(requests=requests)


def test_create_normalises_the_number_and_starts_the_workflow_named_after_the_request():
    requests, flow = FakeRequests(), FakeWorkflow()
    made = phone_requests.create(
        CreatePhoneNumberRequest(phone_number="+1 415 555 0123"), principal=ALICE, store=_store(requests), workflow=flow
    )
    assert made.phone_number == "+14155550123" and made.country == "US" and made.status == "pending"
    assert flow.started == [(made.request_id, {"request_id": made.request_id, "review_timeout_seconds": 42})]
    ((record, charge),) = requests.created
    assert record.phone_number == "+14155550123" and charge.subject == "user:usr_alice"
    assert charge.budget.name == "number_requests"


def test_create_undoes_everything_when_the_workflow_cannot_start():
    requests = FakeRequests()
    with pytest.raises(UpstreamUnavailable):
        phone_requests.create(
            CreatePhoneNumberRequest(phone_number="+14155550123"),
            principal=ALICE,
            store=_store(requests),
            workflow=FakeWorkflow(down=True),
        )
    ((created, charge),) = requests.created
    ((deleted, refund),) = requests.deleted
    assert deleted == created and refund == charge


def test_the_refund_reaches_the_window_of_the_hit_when_the_hour_turns_meanwhile(monkeypatch):
    """Step Functions fails after the hour turned: the refund must give back the hit where it was counted (in
    the new window it would fail its condition and cancel the undo, leaving the request and its claim)."""
    from telephony.services import rate_limits

    clock = [7 * 3600 - 1]  # one second before the hour
    monkeypatch.setattr(rate_limits, "epoch", lambda: clock[0])
    monkeypatch.setattr(phone_requests, "epoch", lambda: clock[0])

    class LateWorkflow(FakeWorkflow):
        def start(self, arn: str, *, name: str, payload: dict[str, Any]) -> None:
            clock[0] += 2  # botocore's retries took the call into the next hour
            raise UpstreamUnavailable("down")

    requests = FakeRequests()
    with pytest.raises(UpstreamUnavailable):
        phone_requests.create(
            CreatePhoneNumberRequest(country="US"), principal=ALICE, store=_store(requests), workflow=LateWorkflow()
        )
    ((_, hit),) = requests.created
    ((_, refund),) = requests.deleted
    assert refund.window_start == hit.window_start == 6 * 3600


@pytest.mark.parametrize(
    "refusal", [NumberTaken("+14155550123"), BudgetSpent("x", budget="b", limit=5, window_seconds=3600, retry_after=9)]
)
def test_create_lets_the_repositorys_named_refusals_through(refusal):
    requests, flow = FakeRequests(), FakeWorkflow()
    requests.fail_create = refusal
    with pytest.raises(type(refusal)):
        phone_requests.create(
            CreatePhoneNumberRequest(phone_number="+14155550123"),
            principal=ALICE,
            store=_store(requests),
            workflow=flow,
        )
    assert flow.started == []


def test_create_refuses_a_number_outside_the_given_country():
    from telephony.errors import InvalidInput

    with pytest.raises(InvalidInput):
        phone_requests.create(
            CreatePhoneNumberRequest(phone_number="+447911123456", country="US"),
            principal=ALICE,
            store=_store(FakeRequests()),
            workflow=FakeWorkflow(),
        )


def test_await_review_stores_the_token_while_pending():
    requests, flow = FakeRequests(), FakeWorkflow()
    phone_requests.await_review("req_1", "tok", store=_store(requests), workflow=flow)
    assert requests.stored == {"req_1": "tok"} and flow.sent == []


def _request(**fields: Any) -> RequestRecord:
    base: dict[str, Any] = {
        "request_id": "req_1",
        "user_id": "usr_alice",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }
    return RequestRecord.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("current", "sent"),
    [
        (
            _request(status="approved", phone_number="+14155550123", provider="twilio"),
            ("success", {"phone_number": "+14155550123", "provider": "twilio"}),
        ),
        (
            _request(status="rejected", review=Review(decided_by="usr_admin", decided_at="x", reason="no")),
            ("failure", "RequestRejected"),
        ),
        (_request(status="expired"), ("failure", "RequestClosed")),
    ],
)
def test_await_review_hands_over_a_decision_that_arrived_first(current, sent):
    requests, flow = FakeRequests(), FakeWorkflow()
    requests.current = current
    phone_requests.await_review("req_1", "tok", store=_store(requests), workflow=flow)
    assert flow.sent == [sent]


def test_phone_number_id_is_derived_from_the_request():
    assert phone_requests.phone_number_id_for("req_abc") == "pn_abc"


# ---------------------------------------------------------------- a failed review


class Closing(FakeRequests):
    """Records each move and applies it to `current`, refusing one from a status the request has left."""

    def __init__(self, current: RequestRecord) -> None:
        super().__init__()
        self.current = current
        self.moves: list[tuple[RequestStatus, dict[str, Any]]] = []

    def move(self, record: RequestRecord, to: RequestStatus, *, claims: ClaimChange | None = None, **kw: Any) -> Any:
        assert self.current is not None
        if record.status is not self.current.status:
            raise StatusChanged(f"the request is no longer {record.status.value}")
        self.moves.append((to, {"claims": claims, **kw}))
        self.current = self.current.model_copy(update={"status": to, "failure": kw.get("failure")})
        return self.current


STACK_TRACE = "Traceback (most recent call last):\n  File \"/var/task/app.py\", line 9\nKeyError: 'arn:aws:secret'"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("TransientError", "service_unavailable"),
        ("States.Timeout", "service_unavailable"),
        ("Conflict", "assignment_failed"),
        ("KeyError", "review_failed"),  # anything else is ours
        ("States.TaskFailed", "review_failed"),
    ],
)
def test_a_failed_review_stores_a_code_and_a_message_never_the_cause(error, code):
    requests = Closing(_request(status="approved", phone_number="+14155550123", task_token="tok"))

    phone_requests.record_failure("req_1", error, STACK_TRACE, store=_store(requests))

    ((to, written),) = requests.moves
    failure = written["failure"]
    assert to is RequestStatus.FAILED and failure.code == code and failure.message
    stored = failure.model_dump_json()
    assert "Traceback" not in stored and "arn:aws" not in stored and error not in stored
    assert (written["claims"].claim, written["claims"].release) == ((), ("+14155550123",))  # the number goes back
    assert written["forget"] == ("task_token",)
    assert requests.current.view().failure == failure


def test_a_failure_of_a_request_already_closed_changes_nothing():
    requests = Closing(_request(status="rejected"))
    phone_requests.record_failure("req_1", "TransientError", STACK_TRACE, store=_store(requests))
    assert requests.moves == []
