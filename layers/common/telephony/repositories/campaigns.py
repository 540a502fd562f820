"""Campaigns and their contacts in the CampaignsTable: one partition per campaign, its item and one item per contact.

The campaign's item holds its counters and the attempts in flight (a map by contact, at most `max_concurrency`
entries), so that every change of a contact's status commits with the counters and the in-flight entry it moves, in
one transaction: the counts are exact, and "at most `max_concurrency` live" is a condition DynamoDB checks, not a
read followed by a write. Pending contacts are found through the sparse `by_state` index, sorted by when they may be
dialled next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telephony import aws
from telephony.errors import AlreadyExists, Conflict, DomainError, NotFound, StatusChanged
from telephony.models.campaigns import (
    MAX_BATCHES,
    MAX_CONTACTS,
    CampaignRecord,
    CampaignStatus,
    ContactRecord,
    ContactStatus,
    InFlight,
    SkipReason,
)
from telephony.models.webhooks import EventRecord
from telephony.repositories import dynamo, keys
from telephony.repositories.events import outbox

_TABLE = dynamo.Table("campaigns_table")
STATE_INDEX = "by_state"
COUNTERS = (
    "total",
    "pending",
    "in_progress",
    "answered",
    "busy",
    "no_answer",
    "failed",
    "duplicates",
    "attempts",
    *(f"skipped_{r.value}" for r in SkipReason),
)


class CampaignChanged(StatusChanged):
    """The campaign is no longer in the status (or run) the write expected, or has no room for another call."""


class ContactChanged(Conflict):
    """The contact is no longer as the write read it: another writer moved it first."""


class TooManyContacts(Conflict):
    pass


def _campaign(item: dict[str, Any]) -> CampaignRecord:
    return CampaignRecord.model_validate(item)


def _contact(item: dict[str, Any]) -> ContactRecord:
    return ContactRecord.model_validate(item)


def contact_item(contact: ContactRecord) -> dict[str, Any]:
    return {
        **keys.contact(contact.campaign_id, contact.contact_id),
        **keys.contact_state(contact.campaign_id, contact.status.value, contact.next_at, contact.contact_id),
        **contact.model_dump(mode="json"),
    }


def _counter_sets(adds: dict[str, int], prefix: str = "c") -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """`counters.x = counters.x + n` clauses (the counters map is written whole at creation)."""
    clauses, names, vals = [], {"#counters": "counters"}, {}
    for i, (name, number) in enumerate(adds.items()):
        names[f"#{prefix}{i}"] = name
        vals[f"{prefix}{i}"] = number
        clauses.append(f"#counters.#{prefix}{i} = #counters.#{prefix}{i} + :{prefix}{i}")
    return clauses, names, vals


def _update(
    key: dict[str, str],
    *,
    sets: list[str],
    names: dict[str, str],
    vals: dict[str, Any],
    condition: str,
    remove: Sequence[str] = (),
    refused: dynamo.Refusal | None = None,
) -> dynamo.Write:
    expression = "SET " + ", ".join(sets) if sets else ""
    if remove:
        expression += " REMOVE " + ", ".join(remove)
    element: dict[str, Any] = {
        "TableName": _TABLE.name,
        "Key": dynamo.marshal(key),
        "UpdateExpression": expression.strip(),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if vals:
        element["ExpressionAttributeValues"] = dynamo.values(**vals)
    return dynamo.Write({"Update": element}, refused)


def _campaign_refused(old: dict[str, Any] | None) -> DomainError:
    if old is None:
        return NotFound("no such campaign")
    return CampaignChanged("the campaign changed since it was read")


def _contact_refused(old: dict[str, Any] | None) -> DomainError:
    return ContactChanged("the contact changed since it was read")


def _contact_move(
    campaign_id: str,
    contact_id: str,
    to: ContactStatus,
    *,
    expect: ContactStatus,
    attempts: int,
    next_at: int = 0,
    skip_reason: SkipReason | None = None,
    attempt_sets: dict[str, Any] | None = None,
    append_attempt: dict[str, Any] | None = None,
    drop_attempt: bool = False,
) -> dynamo.Write:
    """A contact from `expect` (with `attempts` attempts recorded) to `to`, its index entry with it."""
    state = keys.contact_state(campaign_id, to.value, next_at, contact_id)
    names = {"#status": "status", "#attempts": "attempts"}
    vals: dict[str, Any] = {"to": to.value, "expect": expect.value, "n": attempts, "next_at": next_at, **state}
    sets = ["#status = :to", "next_at = :next_at", "gsi2pk = :gsi2pk", "gsi2sk = :gsi2sk"]
    remove: list[str] = []
    if skip_reason is not None:
        sets.append("skip_reason = :reason")
        vals["reason"] = skip_reason.value
    for i, (name, value) in enumerate((attempt_sets or {}).items()):
        names[f"#s{i}"] = name
        vals[f"s{i}"] = value
        sets.append(f"#attempts[{attempts - 1}].#s{i} = :s{i}")
    if append_attempt is not None:
        vals["new"] = [append_attempt]
        sets.append("#attempts = list_append(#attempts, :new)")
    if drop_attempt:
        remove.append(f"#attempts[{attempts - 1}]")
    return _update(
        keys.contact(campaign_id, contact_id),
        sets=sets,
        names=names,
        vals=vals,
        condition="#status = :expect AND size(#attempts) = :n",
        remove=remove,
        refused=_contact_refused,
    )


class CampaignsRepository:
    # ------------------------------------------------------------ campaigns

    def create(self, campaign: CampaignRecord, contacts: Sequence[ContactRecord]) -> None:
        """The contacts first, then the campaign: until its item exists nothing reads or dials them, so a creation
        that dies half way leaves nothing anyone sees."""
        dynamo.batch_put(_TABLE.name, [contact_item(c) for c in contacts])
        item = {
            **keys.campaign(campaign.campaign_id),
            **keys.campaign_owner(campaign.owner_id, campaign.created_at, campaign.campaign_id),
            **campaign.model_dump(mode="json"),
            "counters": {name: campaign.counters.get(name, 0) for name in COUNTERS},
        }
        try:
            dynamo.call(
                aws.dynamodb().put_item,
                TableName=_TABLE.name,
                Item=dynamo.marshal(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except dynamo.ConditionFailed as failed:
            raise AlreadyExists("the campaign exists already") from failed

    def get(self, campaign_id: str) -> CampaignRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.campaign(campaign_id))
        return _campaign(item) if item else None

    def list_by_owner(self, owner_id: str, *, limit: int, token: str | None) -> tuple[list[CampaignRecord], str | None]:
        items, next_token = dynamo.query_page(
            _TABLE.name, "by_owner", "gsi1pk", keys.owner_partition(owner_id), limit=limit, token=token
        )
        return [_campaign(i) for i in items], next_token

    def transition(
        self,
        campaign: CampaignRecord,
        to: CampaignStatus,
        *,
        expect: Sequence[CampaignStatus],
        sets: dict[str, Any] | None = None,
        run: str | None = None,
        events: Sequence[EventRecord] = (),
    ) -> CampaignRecord:
        """The campaign to `to` from one of `expect` (CampaignChanged otherwise), with `sets`, its events with it;
        `run` puts a new run of the engine in charge (the execution of another stops at its next step)."""
        fields = {**(sets or {}), **({"run": run} if run is not None else {}), "status": to.value}
        names: dict[str, str] = {}
        vals: dict[str, Any] = _statuses(expect)
        clauses = []
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            vals[f"f{i}"] = value
            clauses.append(f"#f{i} = :f{i}")
        names["#status"] = "status"
        dynamo.transact(
            [
                _update(
                    keys.campaign(campaign.campaign_id),
                    sets=clauses,
                    names=names,
                    vals=vals,
                    condition=f"#status IN ({_in(expect)})",
                    refused=_campaign_refused,
                ),
                *map(outbox, events),
            ]
        )
        return campaign.model_copy(update={**fields, "status": to})

    # ------------------------------------------------------------ contacts added later

    def reserve_batch(self, campaign: CampaignRecord, adding: int, *, expect: Sequence[CampaignStatus]) -> int:
        """The number of a new batch of `adding` contacts, while the campaign is in one of `expect` and has room."""
        vals = {"one": 1, "room": MAX_CONTACTS - adding, "batches": MAX_BATCHES, **_statuses(expect)}
        try:
            result = dynamo.call(
                aws.dynamodb().update_item,
                TableName=_TABLE.name,
                Key=dynamo.marshal(keys.campaign(campaign.campaign_id)),
                UpdateExpression="SET next_batch = next_batch + :one",
                ConditionExpression=f"#status IN ({_in(expect)}) AND #counters.#total <= :room "
                "AND size(batches) < :batches",
                ExpressionAttributeNames={"#status": "status", "#counters": "counters", "#total": "total"},
                ExpressionAttributeValues=dynamo.values(**vals),
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamo.ConditionFailed as failed:
            if failed.item is None:
                raise NotFound("no such campaign") from failed
            now = _campaign(failed.item)
            if now.status not in expect:
                raise CampaignChanged("contacts can be added only while the campaign is draft or paused") from failed
            raise TooManyContacts(
                f"a campaign holds at most {MAX_CONTACTS} contacts, added in {MAX_BATCHES} requests at most",
                details=[{"field": "contacts", "issue": "too_many"}],
            ) from failed
        return int(dynamo.unmarshal(result["Attributes"])["next_batch"])

    def commit_batch(
        self,
        campaign: CampaignRecord,
        batch: int,
        contacts: Sequence[ContactRecord],
        adds: dict[str, int],
        *,
        expect: Sequence[CampaignStatus],
    ) -> None:
        """Write a batch's contacts, then count them in: until the campaign lists the batch, nothing dials or lists
        them (a request that dies half way leaves nothing seen, and the same request again commits the batch)."""
        dynamo.batch_put(_TABLE.name, [contact_item(c) for c in contacts])
        clauses, names, vals = _counter_sets(adds)
        names["#status"] = "status"
        vals.update({"b": [batch], "one": batch, "room": MAX_CONTACTS - adds.get("total", 0), **_statuses(expect)})
        names["#total"] = "total"
        dynamo.transact(
            [
                _update(
                    keys.campaign(campaign.campaign_id),
                    sets=[*clauses, "batches = list_append(batches, :b)"],
                    names=names,
                    vals=vals,
                    condition=f"#status IN ({_in(expect)}) AND NOT contains(batches, :one) "
                    "AND #counters.#total <= :room",
                    refused=_campaign_refused,
                )
            ]
        )

    # ------------------------------------------------------------ reading contacts

    def contacts(
        self, campaign_id: str, *, status: ContactStatus | None, limit: int, token: str | None
    ) -> tuple[list[ContactRecord], str | None]:
        """A page of the campaign's contacts in the order given (those of one status: through the index)."""
        kwargs: dict[str, Any] = {"TableName": _TABLE.name, "Limit": limit}
        if status is None:
            partition = {"pk": f"CAMPAIGN#{campaign_id}"}
            kwargs.update(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=dynamo.values(pk=partition["pk"], prefix=keys.CONTACT_PREFIX),
                ConsistentRead=True,
            )
            start = dynamo.start_key(token, partition=partition, sort="sk")
        else:
            state = keys.contact_state_partition(campaign_id, status.value)
            kwargs.update(
                IndexName=STATE_INDEX,
                KeyConditionExpression="gsi2pk = :pk",
                ExpressionAttributeValues=dynamo.values(pk=state),
            )
            start = dynamo.start_key(token, partition={"gsi2pk": state}, sort="gsi2sk")
        if start:
            kwargs["ExclusiveStartKey"] = start
        result = dynamo.call(aws.dynamodb().query, **kwargs)
        items = [_contact(dynamo.unmarshal(i)) for i in result.get("Items", [])]
        return items, dynamo.page_token(result.get("LastEvaluatedKey"))

    def due(self, campaign_id: str, *, now: int, limit: int) -> list[ContactRecord]:
        """Pending contacts that may be dialled at `now`, the earliest first. Read through the index, which lags
        the table by a moment: each one is claimed on the condition that it is still pending."""
        result = dynamo.call(
            aws.dynamodb().query,
            TableName=_TABLE.name,
            IndexName=STATE_INDEX,
            KeyConditionExpression="gsi2pk = :pk AND gsi2sk < :until",
            ExpressionAttributeValues=dynamo.values(
                pk=keys.contact_state_partition(campaign_id, ContactStatus.PENDING.value), until=f"{now + 1:012d}"
            ),
            Limit=limit,
        )
        return [_contact(dynamo.unmarshal(i)) for i in result.get("Items", [])]

    def next_pending(self, campaign_id: str) -> ContactRecord | None:
        found = self.due(campaign_id, now=10**12 - 2, limit=1)
        return found[0] if found else None

    def contact(self, campaign_id: str, contact_id: str) -> ContactRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.contact(campaign_id, contact_id))
        return _contact(item) if item else None

    # ------------------------------------------------------------ the engine's moves

    def claim(self, campaign: CampaignRecord, contact: ContactRecord, entry: InFlight, *, at: str) -> None:
        """The contact's next attempt, while the campaign runs in this run and has room for another live call:
        CampaignChanged when it does not (paused, canceled, a newer run, full), ContactChanged when the contact was
        claimed or moved meanwhile."""
        clauses, names, vals = _counter_sets({"pending": -1, "in_progress": 1, "attempts": 1})
        names.update({"#status": "status", "#run": "run", "#inflight": "in_flight", "#k": contact.contact_id})
        vals.update(
            {
                "running": CampaignStatus.RUNNING.value,
                "run": campaign.run,
                "max": campaign.max_concurrency,
                "entry": entry.model_dump(mode="json"),
            }
        )
        dynamo.transact(
            [
                _contact_move(
                    campaign.campaign_id,
                    contact.contact_id,
                    ContactStatus.IN_PROGRESS,
                    expect=ContactStatus.PENDING,
                    attempts=entry.attempt - 1,
                    append_attempt={"attempt": entry.attempt, "call_id": entry.call_id, "status": "dialing", "at": at},
                ),
                _update(
                    keys.campaign(campaign.campaign_id),
                    sets=[*clauses, "#inflight.#k = :entry"],
                    names=names,
                    vals=vals,
                    condition="#status = :running AND #run = :run AND size(#inflight) < :max "
                    "AND attribute_not_exists(#inflight.#k)",
                    refused=_campaign_refused,
                ),
            ]
        )

    def settle(
        self,
        campaign: CampaignRecord,
        entry: InFlight,
        *,
        to: ContactStatus,
        call_status: str | None,
        next_at: int = 0,
        skip_reason: SkipReason | None = None,
        undo: bool = False,
    ) -> None:
        """An attempt in flight is over: the contact to its outcome, or back to pending for a retry at `next_at`
        (`undo`: the attempt was never dialled and is taken back), and its place among the live calls freed."""
        counted = f"skipped_{skip_reason.value}" if skip_reason else to.value
        adds = {"in_progress": -1, counted: 1}
        if undo:
            adds["attempts"] = -1
        clauses, names, vals = _counter_sets(adds)
        names.update({"#inflight": "in_flight", "#k": entry.contact_id, "#call": "call_id"})
        vals["call"] = entry.call_id
        dynamo.transact(
            [
                _contact_move(
                    campaign.campaign_id,
                    entry.contact_id,
                    to,
                    expect=ContactStatus.IN_PROGRESS,
                    attempts=entry.attempt,
                    next_at=next_at,
                    skip_reason=skip_reason,
                    attempt_sets=None if undo or call_status is None else {"status": call_status},
                    drop_attempt=undo,
                ),
                _update(
                    keys.campaign(campaign.campaign_id),
                    sets=clauses,
                    names=names,
                    vals=vals,
                    condition="#inflight.#k.#call = :call",
                    remove=["#inflight.#k"],
                    refused=_campaign_refused,
                ),
            ]
        )

    def skip(self, campaign: CampaignRecord, contact: ContactRecord, reason: SkipReason) -> None:
        """A pending contact that will not be dialled."""
        clauses, names, vals = _counter_sets({"pending": -1, f"skipped_{reason.value}": 1})
        dynamo.transact(
            [
                _contact_move(
                    campaign.campaign_id,
                    contact.contact_id,
                    ContactStatus.SKIPPED,
                    expect=ContactStatus.PENDING,
                    attempts=len(contact.attempts),
                    skip_reason=reason,
                ),
                _update(
                    keys.campaign(campaign.campaign_id),
                    sets=clauses,
                    names=names,
                    vals=vals,
                    condition="attribute_exists(pk)",
                    refused=_campaign_refused,
                ),
            ]
        )

    def discard(self, contact: ContactRecord) -> None:
        """A contact of a batch that can no longer be counted in (see `commit_batch`): deleted while pending."""
        try:
            dynamo.call(
                aws.dynamodb().delete_item,
                TableName=_TABLE.name,
                Key=dynamo.marshal(keys.contact(contact.campaign_id, contact.contact_id)),
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=dynamo.values(pending=ContactStatus.PENDING.value),
            )
        except dynamo.ConditionFailed:
            return

    def postpone(self, contact: ContactRecord, next_at: int) -> None:
        """A pending contact not to be dialled before `next_at` (its window is closed until then)."""
        try:
            dynamo.transact(
                [
                    _contact_move(
                        contact.campaign_id,
                        contact.contact_id,
                        ContactStatus.PENDING,
                        expect=ContactStatus.PENDING,
                        attempts=len(contact.attempts),
                        next_at=next_at,
                    )
                ]
            )
        except ContactChanged:
            return


def _statuses(expect: Sequence[CampaignStatus]) -> dict[str, str]:
    return {f"e{i}": s.value for i, s in enumerate(expect)}


def _in(expect: Sequence[CampaignStatus]) -> str:
    return ", ".join(f":e{i}" for i in range(len(expect)))
