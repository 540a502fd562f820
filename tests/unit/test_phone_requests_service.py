"""The request service with fake repositories and a fake workflow: no AWS at all."""

from __future__ import annotations

from typing import Any

import pytest

from telephony.errors import Conflict, InvalidInput, UpstreamUnavailable
from telephony.models.principal import Principal, Role
from telephony.models.requests import CreatePhoneNumberRequest
from telephony.repositories import dynamo
from telephony.services import phone_requests, rate_limits

REAL_HIT, REAL_REFUND = rate_limits.hit, rate_limits.refund
ALICE = Principal(user_id="usr_alice", role=Role.USER, auth_type="api_key", key_id="ak_x")


class FakeRepo:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.deleted: list[tuple[str, list[Any]]] = []
        self.fail_create: dynamo.TransactionCanceled | None = None
        self.stored: dict[str, Any] | None = None
        self.store_fails_with: dict[str, Any] | None = None

    def claim_put(self, e164: str, **kw: Any) -> Any:
        return ("claim", e164)

    def claim_release(self, e164: str, **kw: Any) -> Any:
        return ("release", e164)

    def create(self, record: dict[str, Any], *, extra: list[Any]) -> None:
        if self.fail_create:
            raise self.fail_create
        self.created.append(record)

    def delete(self, request_id: str, *, extra: list[Any]) -> None:
        self.deleted.append((request_id, extra))

    def store_task_token(self, request_id: str, token: str, **kw: Any) -> dict[str, Any]:
        if self.store_fails_with is not None:
            raise dynamo.ConditionFailed(self.store_fails_with)
        self.stored = {"request_id": request_id, "task_token": token}
        return self.stored


class FakeWorkflow:
    WorkflowGone = type("WorkflowGone", (Exception,), {})

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

    monkeypatch.setattr(config, "settings", lambda: config.Settings(review_state_machine_arn="arn:sm"))
    monkeypatch.setattr(
        phone_requests,
        "settings",
        lambda: config.Settings(review_state_machine_arn="arn:sm", review_timeout_seconds=42),
    )
    monkeypatch.setattr(rate_limits, "hit", lambda budget, user, **kw: ("hit", budget.name))
    monkeypatch.setattr(rate_limits, "refund", lambda budget, user, **kw: ("refund", budget.name))


def test_create_normalises_the_number_and_starts_the_workflow_named_after_the_request():
    repo, flow = FakeRepo(), FakeWorkflow()
    made = phone_requests.create(
        CreatePhoneNumberRequest(phone_number="+1 415 555 0123"), principal=ALICE, repo=repo, workflow=flow
    )  # type: ignore[arg-type]
    assert made.phone_number == "+14155550123" and made.country == "US" and made.status == "pending"
    assert flow.started == [(made.request_id, {"request_id": made.request_id, "review_timeout_seconds": 42})]


def test_create_undoes_everything_when_the_workflow_cannot_start():
    repo, flow = FakeRepo(), FakeWorkflow(down=True)
    with pytest.raises(UpstreamUnavailable):
        phone_requests.create(
            CreatePhoneNumberRequest(phone_number="+14155550123"), principal=ALICE, repo=repo, workflow=flow
        )  # type: ignore[arg-type]
    ((request_id, undo),) = repo.deleted
    assert request_id == repo.created[0]["request_id"]
    assert undo == [("release", "+14155550123"), ("refund", "number_requests")]


def test_the_refund_reaches_the_window_of_the_hit_when_the_hour_turns_meanwhile(monkeypatch):
    """Step Functions fails after the hour turned: the refund must give back the hit where it was counted (in
    the new window it would fail its condition and cancel the undo, leaving the request and its claim)."""
    from telephony import config
    from telephony.repositories import rate_limits as rate_limits_repo

    monkeypatch.setattr(rate_limits, "hit", REAL_HIT)
    monkeypatch.setattr(rate_limits, "refund", REAL_REFUND)
    monkeypatch.setattr(rate_limits_repo, "settings", lambda: config.Settings(rate_limits_table="limits"))
    clock = [7 * 3600 - 1]  # one second before the hour
    monkeypatch.setattr(rate_limits, "epoch", lambda: clock[0])
    monkeypatch.setattr(phone_requests, "epoch", lambda: clock[0], raising=False)

    class LateWorkflow(FakeWorkflow):
        def start(self, arn: str, *, name: str, payload: dict[str, Any]) -> None:
            clock[0] += 2  # botocore's retries took the call into the next hour
            raise UpstreamUnavailable("down")

    repo = FakeRepo()
    repo.create = lambda record, *, extra: repo.created.append({**record, "extra": extra})  # type: ignore[method-assign]
    with pytest.raises(UpstreamUnavailable):
        phone_requests.create(
            CreatePhoneNumberRequest(country="US"), principal=ALICE, repo=repo, workflow=LateWorkflow()
        )  # type: ignore[arg-type]
    (hit,) = repo.created[0]["extra"]
    ((_, (refund,)),) = repo.deleted
    assert refund["Update"]["Key"] == hit["Update"]["Key"]


def test_create_maps_a_claimed_number_to_conflict_and_a_spent_budget_to_429():
    repo = FakeRepo()
    repo.fail_create = dynamo.TransactionCanceled(["None", "ConditionalCheckFailed", "None"], [None, None, None])
    with pytest.raises(Conflict):
        phone_requests.create(
            CreatePhoneNumberRequest(phone_number="+14155550123"),
            principal=ALICE,
            repo=repo,
            workflow=FakeWorkflow(),
        )  # type: ignore[arg-type]
    repo.fail_create = dynamo.TransactionCanceled(["None", "None", "ConditionalCheckFailed"], [None, None, None])
    with pytest.raises(Exception) as limited:
        phone_requests.create(
            CreatePhoneNumberRequest(phone_number="+14155550123"),
            principal=ALICE,
            repo=repo,
            workflow=FakeWorkflow(),
        )  # type: ignore[arg-type]
    assert type(limited.value).__name__ == "RateLimited"


def test_create_refuses_a_number_outside_the_given_country():
    with pytest.raises(InvalidInput):
        phone_requests.create(
            CreatePhoneNumberRequest(phone_number="+447911123456", country="US"),
            principal=ALICE,
            repo=FakeRepo(),
            workflow=FakeWorkflow(),
        )  # type: ignore[arg-type]


def test_await_review_stores_the_token_while_pending():
    repo, flow = FakeRepo(), FakeWorkflow()
    phone_requests.await_review("req_1", "tok", repo=repo, workflow=flow)  # type: ignore[arg-type]
    assert repo.stored == {"request_id": "req_1", "task_token": "tok"} and flow.sent == []


@pytest.mark.parametrize(
    ("item", "sent"),
    [
        (
            {"status": "approved", "phone_number": "+14155550123", "provider": "twilio"},
            ("success", {"phone_number": "+14155550123", "provider": "twilio"}),
        ),
        ({"status": "rejected", "review": {"reason": "no"}}, ("failure", "RequestRejected")),
        ({"status": "expired"}, ("failure", "RequestClosed")),
    ],
)
def test_await_review_hands_over_a_decision_that_arrived_first(item, sent):
    repo, flow = FakeRepo(), FakeWorkflow()
    repo.store_fails_with = item
    phone_requests.await_review("req_1", "tok", repo=repo, workflow=flow)  # type: ignore[arg-type]
    assert flow.sent == [sent]


def test_phone_number_id_is_derived_from_the_request():
    assert phone_requests.phone_number_id_for("req_abc") == "pn_abc"
