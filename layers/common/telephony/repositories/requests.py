"""Phone-number requests, with the claims on their numbers kept in the same transactions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from telephony import aws
from telephony.errors import NotFound, StatusChanged
from telephony.models.budgets import Charge
from telephony.models.numbers import NumberRecord
from telephony.models.requests import RequestFailure, RequestRecord, RequestStatus, Review
from telephony.models.webhooks import EventRecord
from telephony.repositories import accounts, dynamo, keys, numbers, rate_limits
from telephony.repositories.events import outbox

_TABLE = dynamo.Table("requests_table")


def _item(record: RequestRecord) -> dict[str, Any]:
    rid, created = record.request_id, record.created_at
    return {
        **keys.request(rid),
        **keys.request_owner(record.user_id, created, rid),
        **keys.request_status(record.status.value, created, rid),
        **record.model_dump(mode="json", exclude_none=True),
    }


def _record(item: dict[str, Any]) -> RequestRecord:
    return RequestRecord.model_validate(item)


class ClaimChange:
    """How a decision moves the claims: the numbers it claims for the request and those it lets go."""

    def __init__(self, *, claim: tuple[str, ...] = (), release: tuple[str, ...] = ()) -> None:
        self.claim = claim
        self.release = release

    def reversed(self) -> ClaimChange:
        return ClaimChange(claim=self.release, release=self.claim)

    def writes(self, record: RequestRecord) -> list[dynamo.Write]:
        rid = record.request_id
        return [numbers.claim_for_request(n, request_id=rid, owner_id=record.user_id) for n in self.claim] + [
            numbers.release_request_claim(n, request_id=rid) for n in self.release
        ]


class RequestsRepository:
    def create(self, record: RequestRecord, *, charge: Charge) -> None:
        """A new request with its claim on the number it names and a number request spent, together.
        NumberTaken when the number has an open request or an owner; BudgetSpent."""
        put = dynamo.Write(
            {
                "Put": {
                    "TableName": _TABLE.name,
                    "Item": dynamo.marshal(_item(record)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        claims = ClaimChange(claim=(record.phone_number,) if record.phone_number else ()).writes(record)
        dynamo.transact([put, *claims, rate_limits.spend(charge)])

    def delete(self, record: RequestRecord, *, refund: Charge) -> None:
        """Undo a create whose workflow could not start: the request, its claim and its hit."""
        delete = dynamo.Write(
            {"Delete": {"TableName": _TABLE.name, "Key": dynamo.marshal(keys.request(record.request_id))}}
        )
        claims = ClaimChange(release=(record.phone_number,) if record.phone_number else ()).writes(record)
        dynamo.transact([delete, *claims, rate_limits.refund(refund)])

    def get(self, request_id: str) -> RequestRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.request(request_id))
        return _record(item) if item else None

    def list_by_owner(self, owner_id: str, *, limit: int, token: str | None) -> tuple[list[RequestRecord], str | None]:
        items, next_token = dynamo.query_page(
            _TABLE.name, "by_owner", "gsi1pk", keys.owner_partition(owner_id), limit=limit, token=token
        )
        return [_record(i) for i in items], next_token

    def list_by_status(
        self, status: RequestStatus, *, limit: int, token: str | None
    ) -> tuple[list[RequestRecord], str | None]:
        partition = keys.request_status_partition(status.value)
        items, next_token = dynamo.query_page(_TABLE.name, "by_status", "gsi2pk", partition, limit=limit, token=token)
        return [_record(i) for i in items], next_token

    def store_task_token(self, request_id: str, task_token: str, *, updated_at: str) -> None:
        """Keep the workflow's token on a pending request. NotFound without the request, StatusChanged when it
        is no longer pending."""
        try:
            dynamo.call(
                aws.dynamodb().update_item,
                TableName=_TABLE.name,
                Key=dynamo.marshal(keys.request(request_id)),
                UpdateExpression="SET task_token = :token, updated_at = :at",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=dynamo.values(
                    token=task_token, at=updated_at, pending=RequestStatus.PENDING.value
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamo.ConditionFailed as failed:
            if failed.item is None:
                raise NotFound(f"request {request_id} does not exist") from failed
            raise StatusChanged(f"request {request_id} is {failed.item.get('status')}, not pending") from failed

    def move(
        self,
        record: RequestRecord,
        to: RequestStatus,
        *,
        updated_at: str,
        claims: ClaimChange | None = None,
        phone_number: str | None = None,
        provider: str | None = None,
        review: Review | None = None,
        failure: RequestFailure | None = None,
        forget: tuple[str, ...] = (),
        events: Callable[[RequestRecord], Sequence[EventRecord]] = lambda after: (),
    ) -> RequestRecord:
        """Move the request from the status `record` has to `to`, setting what is given and removing the fields
        named in `forget`, its claims moved with it, and the events `events` makes of the request as written.
        StatusChanged when it is no longer in that status, NumberTaken when a number it claims is held by another;
        returns the request as written."""
        fields: dict[str, Any] = {"phone_number": phone_number, "provider": provider}
        sets: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        for name, model in (("review", review), ("failure", failure)):
            if model is not None:
                sets[name] = model.model_dump(mode="json", exclude_none=True)
        sets.update(
            {
                "status": to.value,
                "updated_at": updated_at,
                **keys.request_status(to.value, record.created_at, record.request_id),
            }
        )
        update = dynamo.update_of(sets, remove=forget)
        step = dynamo.Write(
            {
                "Update": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.request(record.request_id)),
                    "UpdateExpression": update.expression,
                    "ConditionExpression": "#status = :from",
                    "ExpressionAttributeNames": {**update.names, "#status": "status"},
                    "ExpressionAttributeValues": dynamo.values(**update.values, **{"from": record.status.value}),
                }
            },
            lambda _old: StatusChanged(f"the request is no longer {record.status.value}"),
        )
        written = RequestRecord.model_validate({**record.model_dump(), **sets, **{name: None for name in forget}})
        told = [outbox(e) for e in events(written)]
        dynamo.transact([step, *(claims.writes(record) if claims else []), *told])
        return written

    def assign(
        self,
        record: RequestRecord,
        number: NumberRecord,
        *,
        updated_at: str,
        max_numbers: int,
        events: Sequence[EventRecord] = (),
    ) -> None:
        """The approved request's number is made: the number item counted among its owner's, the claim handed over
        to it, the request `assigned` and its events, together (StatusChanged when the request is no longer
        approved, TooManyNumbers when its owner holds `max_numbers`)."""
        dynamo.transact(
            [
                *[outbox(e) for e in events],
                numbers.put_assigned(number),
                numbers.hand_claim_to_number(
                    number.phone_number,
                    request_id=record.request_id,
                    phone_number_id=number.phone_number_id,
                    owner_id=record.user_id,
                ),
                dynamo.Write(
                    {
                        "Update": {
                            "TableName": _TABLE.name,
                            "Key": dynamo.marshal(keys.request(record.request_id)),
                            "UpdateExpression": "SET #s = :to, updated_at = :at, phone_number_id = :pid, "
                            "gsi2pk = :gsi2pk, gsi2sk = :gsi2sk REMOVE task_token",
                            "ConditionExpression": "#s = :from",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": dynamo.values(
                                to=RequestStatus.ASSIGNED.value,
                                at=updated_at,
                                pid=number.phone_number_id,
                                **{"from": RequestStatus.APPROVED.value},
                                **keys.request_status(
                                    RequestStatus.ASSIGNED.value, record.created_at, record.request_id
                                ),
                            ),
                        }
                    },
                    lambda _old: StatusChanged(f"request {record.request_id} is no longer approved"),
                ),
                accounts.count_number(number.owner_id, 1, max_numbers=max_numbers),
            ]
        )
