"""Phone numbers owned by users, and the E.164 claims that keep each number unique."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.errors import (
    AgentNameTaken,
    Conflict,
    DomainError,
    LockLost,
    NotFound,
    NumberChanged,
    NumberLocked,
    NumberTaken,
)
from telephony.models.budgets import Charge
from telephony.models.numbers import ClaimRecord, NumberRecord
from telephony.repositories import accounts, dynamo, keys, rate_limits

_TABLE = dynamo.Table("numbers_table")
# Fields a save never rewrites: the number's identity, and what only the lock itself sets.
_FIXED = {"phone_number_id", "owner_id", "created_at", "config_lock", "revision"}
_OPTIONAL = [name for name, field in NumberRecord.model_fields.items() if not field.is_required()]


def _item(number: NumberRecord) -> dict[str, Any]:
    pid = number.phone_number_id
    item = {
        **keys.number(pid),
        **keys.number_owner(number.owner_id, number.created_at, pid),
        **number.model_dump(mode="json", exclude_none=True),
    }
    if number.agent_id:
        item.update(_agent_keys(number, number.agent_id))
    return item


def _agent_keys(number: NumberRecord, agent_id: str) -> dict[str, str]:
    """Set while the number is registered to an agent (the sparse `by_agent` index), newest registration first."""
    registered = number.registered_at or number.updated_at
    return keys.number_agent(number.owner_id, agent_id, registered, number.phone_number_id)


def _number(item: dict[str, Any]) -> NumberRecord:
    return NumberRecord.model_validate(item)


# ---------------------------------------------------------------- writes of other repositories' transactions


def put_assigned(number: NumberRecord) -> dynamo.Write:
    """A new number item (assigned through a request)."""
    return dynamo.Write(
        {
            "Put": {
                "TableName": _TABLE.name,
                "Item": dynamo.marshal(_item(number)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        lambda _old: Conflict(f"number {number.phone_number_id} exists already"),
    )


def _claim_item(claim: ClaimRecord) -> dict[str, Any]:
    return {**keys.number_claim(claim.e164), **claim.model_dump(exclude_none=True)}


def claim_for_request(e164: str, *, request_id: str, owner_id: str) -> dynamo.Write:
    """An open request's claim on a number: refused (NumberTaken) when the number has any other."""
    claim = ClaimRecord(e164=e164, holder="request", request_id=request_id, owner_id=owner_id)
    return dynamo.Write(
        {
            "Put": {
                "TableName": _TABLE.name,
                "Item": dynamo.marshal(_claim_item(claim)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        lambda _old: NumberTaken(e164),
    )


def release_request_claim(e164: str, *, request_id: str) -> dynamo.Write:
    """Drop the request's claim (nothing when it has none); refused when another holds the number."""
    return dynamo.Write(
        {
            "Delete": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(keys.number_claim(e164)),
                "ConditionExpression": "attribute_not_exists(pk) OR (request_id = :rid AND holder = :request)",
                "ExpressionAttributeValues": dynamo.values(rid=request_id, request="request"),
            }
        },
        lambda _old: Conflict(f"the claim on {e164} is not this request's"),
    )


def hand_claim_to_number(e164: str, *, request_id: str, phone_number_id: str, owner_id: str) -> dynamo.Write:
    """Hand a request's claim on a number over to the number itself."""
    return dynamo.Write(
        {
            "Update": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(keys.number_claim(e164)),
                "UpdateExpression": "SET holder = :number, phone_number_id = :pid, owner_id = :owner",
                "ConditionExpression": "request_id = :rid",
                "ExpressionAttributeValues": dynamo.values(
                    number="number", pid=phone_number_id, owner=owner_id, rid=request_id
                ),
            }
        },
        lambda _old: Conflict(f"the claim on {e164} is not this request's"),
    )


class NumbersRepository:
    def claim_agent_name(self, name: str, owner_id: str) -> None:
        """The agent name becomes `owner_id`'s if nobody holds it (nothing when it is theirs already);
        AgentNameTaken when another account holds it. LiveKit dispatches agents by name across the whole project,
        so a name is one account's."""
        try:
            dynamo.call(
                aws.dynamodb().put_item,
                TableName=_TABLE.name,
                Item=dynamo.marshal({**keys.agent_name(name), "agent_name": name, "owner_id": owner_id}),
                ConditionExpression="attribute_not_exists(pk) OR owner_id = :owner",
                ExpressionAttributeValues=dynamo.values(owner=owner_id),
            )
        except dynamo.ConditionFailed as failed:
            raise AgentNameTaken(name) from failed

    def get(self, phone_number_id: str) -> NumberRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.number(phone_number_id))
        return _number(item) if item else None

    def claims(self, numbers: list[str]) -> dict[str, ClaimRecord]:
        """The claims of these numbers, by number (a number nobody claims is absent)."""
        if not numbers:
            return {}
        table = _TABLE.name
        result = dynamo.call(
            aws.dynamodb().batch_get_item,
            RequestItems={
                table: {"Keys": [dynamo.marshal(keys.number_claim(n)) for n in set(numbers)], "ConsistentRead": True}
            },
        )
        found = [ClaimRecord.model_validate(dynamo.unmarshal(i)) for i in result.get("Responses", {}).get(table, [])]
        return {c.e164: c for c in found}

    def list_by_owner(self, owner_id: str, *, limit: int, token: str | None) -> tuple[list[NumberRecord], str | None]:
        items, next_token = dynamo.query_page(
            _TABLE.name, "by_owner", "gsi1pk", keys.owner_partition(owner_id), limit=limit, token=token
        )
        return [_number(i) for i in items if i.get("sk") == keys.ITEM], next_token

    def list_by_agent(
        self, owner_id: str, agent_id: str, *, limit: int, token: str | None
    ) -> tuple[list[NumberRecord], str | None]:
        partition = keys.agent_numbers(owner_id, agent_id)
        items, next_token = dynamo.query_page(_TABLE.name, "by_agent", "gsi2pk", partition, limit=limit, token=token)
        return [_number(i) for i in items], next_token

    def create(self, number: NumberRecord, *, charge: Charge | None, max_numbers: int) -> None:
        """A new number and its claim, counted among its owner's numbers, with `charge` spent if given, together
        (the number holds the `config_lock` it is given). NumberTaken when the E.164 number has an open request or
        an owner, TooManyNumbers when the owner holds `max_numbers`, BudgetSpent."""
        claim = ClaimRecord(
            e164=number.phone_number, holder="number", phone_number_id=number.phone_number_id, owner_id=number.owner_id
        )
        dynamo.transact(
            [
                dynamo.Write(
                    {
                        "Put": {
                            "TableName": _TABLE.name,
                            "Item": dynamo.marshal(_claim_item(claim)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    lambda _old: NumberTaken(number.phone_number),
                ),
                put_assigned(number),
                accounts.count_number(number.owner_id, 1, max_numbers=max_numbers),
                *([rate_limits.spend(charge)] if charge else []),
            ]
        )

    def lock(self, number: NumberRecord, *, token: str, now: int, ttl: int = 120, charge: Charge | None) -> None:
        """Take the number's provisioning lock (one configuration at a time), with `charge` spent if given, only if
        the item is still at the revision `number` was read at. NotFound when it is gone or not the owner's,
        NumberLocked when another request holds the lock, NumberChanged when it was saved since it was read."""
        condition = "owner_id = :owner AND (attribute_not_exists(#lock) OR #lock.#until < :now)"
        vals: dict[str, Any] = {"lock": {"token": token, "until": now + ttl}, "owner": number.owner_id, "now": now}
        if number.revision is None:
            condition += " AND attribute_not_exists(#rev)"
        else:
            condition += " AND #rev = :rev"
            vals["rev"] = number.revision

        def refused(old: dict[str, Any] | None) -> DomainError:
            if not old or old.get("owner_id") != number.owner_id:
                return NotFound("no such phone number")
            held = (old.get("config_lock") or {}).get("until")
            if held is not None and held >= now:
                return NumberLocked("this number is being configured by another request; retry shortly")
            return NumberChanged("this number was changed by another request; retry shortly")

        lock = dynamo.Write(
            {
                "Update": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.number(number.phone_number_id)),
                    "UpdateExpression": "SET #lock = :lock",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#lock": "config_lock", "#until": "until", "#rev": "revision"},
                    "ExpressionAttributeValues": dynamo.values(**vals),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            refused,
        )
        dynamo.transact([lock, rate_limits.spend(charge)] if charge else [lock])

    def save(self, number: NumberRecord, *, token: str) -> NumberRecord:
        """Write the number as given and release its lock, only while `token` holds it (LockLost otherwise); the
        revision moves on. Returns the number as stored."""
        sets = {
            k: v for k, v in number.model_dump(mode="json", exclude_none=True).items() if k not in _FIXED and k != "pk"
        }
        removed = [name for name in _OPTIONAL if getattr(number, name) is None and name not in _FIXED]
        if number.agent_id:
            sets.update(_agent_keys(number, number.agent_id))
        else:
            removed += keys.AGENT_KEYS
        return self._update(number.phone_number_id, token, sets, removed)

    def release(self, phone_number_id: str, *, token: str, updated_at: str) -> None:
        """Give the lock back, the number otherwise as it is."""
        self._update(phone_number_id, token, {"updated_at": updated_at}, [])

    def _update(self, pid: str, token: str, sets: dict[str, Any], removed: list[str]) -> NumberRecord:
        update = dynamo.update_of(sets, remove=["config_lock", *removed])
        try:
            result = dynamo.call(
                aws.dynamodb().update_item,
                TableName=_TABLE.name,
                Key=dynamo.marshal(keys.number(pid)),
                UpdateExpression=update.expression + " ADD #rev :one",
                ConditionExpression="#lock.#token = :token",
                ExpressionAttributeNames={
                    **update.names,
                    "#rev": "revision",
                    "#lock": "config_lock",
                    "#token": "token",
                },
                ExpressionAttributeValues=dynamo.values(token=token, one=1, **update.values),
                ReturnValues="ALL_NEW",
            )
        except dynamo.ConditionFailed as failed:
            raise LockLost("this number's configuration lock was lost; retry") from failed
        return _number(dynamo.unmarshal(result["Attributes"]))

    def delete(self, number: NumberRecord, *, token: str) -> None:
        """Remove a number and its claim, and count it off its owner's numbers, together, while `token` holds its
        lock (LockLost otherwise)."""
        dynamo.transact(
            [
                dynamo.Write(
                    {
                        "Delete": {
                            "TableName": _TABLE.name,
                            "Key": dynamo.marshal(keys.number(number.phone_number_id)),
                            "ConditionExpression": "#lock.#token = :token",
                            "ExpressionAttributeNames": {"#lock": "config_lock", "#token": "token"},
                            "ExpressionAttributeValues": dynamo.values(token=token),
                        }
                    },
                    lambda _old: LockLost("this number's configuration lock was lost; retry"),
                ),
                dynamo.Write(
                    {
                        "Delete": {
                            "TableName": _TABLE.name,
                            "Key": dynamo.marshal(keys.number_claim(number.phone_number)),
                            "ConditionExpression": "phone_number_id = :pid",
                            "ExpressionAttributeValues": dynamo.values(pid=number.phone_number_id),
                        }
                    },
                    lambda _old: Conflict(f"the claim on {number.phone_number} is not this number's"),
                ),
                accounts.count_number(number.owner_id, -1),
            ]
        )
