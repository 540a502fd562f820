"""Webhooks under their owner (with the owner's count of them), and their deliveries under each webhook."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.errors import AlreadyExists, Conflict, NotFound, TooManyWebhooks
from telephony.models.webhooks import DeliveryRecord, WebhookRecord
from telephony.repositories import dynamo, keys

_TABLE = dynamo.Table("webhooks_table")
# Fields an update may set; the others are the webhook's identity, its secrets (rotate) or the deliverer's.
UPDATABLE = ("url", "events", "description", "enabled", "disabled_reason", "failing_since", "updated_at")


def _webhook(item: dict[str, Any]) -> WebhookRecord:
    return WebhookRecord.model_validate(item)


def _count(owner_id: str, change: int, *, below: int | None = None) -> dynamo.Write:
    update: dict[str, Any] = {
        "TableName": _TABLE.name,
        "Key": dynamo.marshal(keys.webhook_count(owner_id)),
        "UpdateExpression": "ADD webhooks :change",
        "ExpressionAttributeValues": dynamo.values(change=change),
    }
    if below is not None:
        update["ConditionExpression"] = "attribute_not_exists(webhooks) OR webhooks < :below"
        update["ExpressionAttributeValues"] = dynamo.values(change=change, below=below)
    return dynamo.Write(
        {"Update": update}, lambda _old: TooManyWebhooks(f"you hold {below} webhooks: delete one first")
    )


class WebhooksRepository:
    # ------------------------------------------------------------ webhooks
    def create(self, webhook: WebhookRecord, *, max_webhooks: int) -> None:
        """A new webhook, counted among its owner's (TooManyWebhooks when it holds `max_webhooks`)."""
        item = {**keys.webhook(webhook.owner_id, webhook.webhook_id), **webhook.model_dump(mode="json")}
        put = dynamo.Write(
            {
                "Put": {
                    "TableName": _TABLE.name,
                    "Item": dynamo.marshal(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            lambda _old: AlreadyExists(f"webhook {webhook.webhook_id} exists already"),
        )
        dynamo.transact([put, _count(webhook.owner_id, 1, below=max_webhooks)])

    def get(self, owner_id: str, webhook_id: str) -> WebhookRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.webhook(owner_id, webhook_id))
        return _webhook(item) if item else None

    def list_by_owner(self, owner_id: str) -> list[WebhookRecord]:
        """Every webhook of the owner (a few at most), oldest first, read consistently."""
        result = dynamo.call(
            aws.dynamodb().query,
            TableName=_TABLE.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=dynamo.values(pk=keys.owner_partition(owner_id), prefix=keys.WEBHOOK_PREFIX),
            ConsistentRead=True,
        )
        return sorted((_webhook(dynamo.unmarshal(i)) for i in result.get("Items", [])), key=lambda w: w.created_at)

    def update(self, webhook: WebhookRecord, fields: dict[str, Any]) -> WebhookRecord:
        """Set these fields (of UPDATABLE; None removes one) on the webhook if it still exists (NotFound)."""
        sets = {k: v for k, v in fields.items() if v is not None}
        removed = [k for k, v in fields.items() if v is None]
        return self._update(webhook, dynamo.update_of(sets, remove=removed))

    def rotate(self, webhook: WebhookRecord, *, secret: str, previous_expires_at: str, updated_at: str) -> None:
        """The new secret; the one it replaces keeps signing until `previous_expires_at`."""
        sets = {
            "secret": secret,
            "previous_secret": webhook.secret,
            "previous_secret_expires_at": previous_expires_at,
            "updated_at": updated_at,
        }
        self._update(webhook, dynamo.update_of(sets))

    def failing(self, webhook: WebhookRecord, *, since: str) -> None:
        """The webhook has failed a delivery; `failing_since` is kept if it was failing already."""
        dynamo.call(
            aws.dynamodb().update_item,
            TableName=_TABLE.name,
            Key=dynamo.marshal(keys.webhook(webhook.owner_id, webhook.webhook_id)),
            UpdateExpression="SET failing_since = if_not_exists(failing_since, :since)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=dynamo.values(since=since),
        )

    def succeeding(self, webhook: WebhookRecord) -> None:
        if webhook.failing_since is not None:
            self._update(webhook, dynamo.update_of({}, remove=["failing_since"]))

    def _update(self, webhook: WebhookRecord, update: dynamo.Update) -> WebhookRecord:
        kwargs: dict[str, Any] = {
            "TableName": _TABLE.name,
            "Key": dynamo.marshal(keys.webhook(webhook.owner_id, webhook.webhook_id)),
            "UpdateExpression": update.expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": update.names,
            "ReturnValues": "ALL_NEW",
        }
        if update.values:
            kwargs["ExpressionAttributeValues"] = dynamo.values(**update.values)
        try:
            result = dynamo.call(aws.dynamodb().update_item, **kwargs)
        except dynamo.ConditionFailed as failed:
            raise NotFound("no such webhook") from failed
        return _webhook(dynamo.unmarshal(result["Attributes"]))

    def delete(self, webhook: WebhookRecord) -> None:
        """Remove the webhook and take it off its owner's count (NotFound when it is gone already)."""
        delete = dynamo.Write(
            {
                "Delete": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.webhook(webhook.owner_id, webhook.webhook_id)),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            lambda _old: NotFound("no such webhook"),
        )
        dynamo.transact([delete, _count(webhook.owner_id, -1)])

    # ------------------------------------------------------------ deliveries
    def add_delivery(self, delivery: DeliveryRecord) -> bool:
        """Record an attempt; False when it was recorded before (a retried fan-out)."""
        item = {**keys.delivery(delivery.webhook_id, delivery.delivery_id), **delivery.model_dump(mode="json")}
        try:
            dynamo.call(
                aws.dynamodb().put_item,
                TableName=_TABLE.name,
                Item=dynamo.marshal(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except dynamo.ConditionFailed:
            return False
        return True

    def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.delivery(webhook_id, delivery_id))
        return DeliveryRecord.model_validate(item) if item else None

    def settle(self, delivery: DeliveryRecord, *, follow: DeliveryRecord | None = None) -> None:
        """Write an attempt's outcome, only while it is still pending (Conflict: another run settled it), with the
        next attempt when there is one, together: a retry is never lost between the two."""
        item = {**keys.delivery(delivery.webhook_id, delivery.delivery_id), **delivery.model_dump(mode="json")}
        settled = dynamo.Write(
            {
                "Put": {
                    "TableName": _TABLE.name,
                    "Item": dynamo.marshal(item),
                    "ConditionExpression": "#status = :pending",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": dynamo.values(pending="pending"),
                }
            },
            lambda _old: Conflict(f"delivery {delivery.delivery_id} was settled already"),
        )
        writes = [settled]
        if follow is not None:
            follow_item = {**keys.delivery(follow.webhook_id, follow.delivery_id), **follow.model_dump(mode="json")}
            writes.append(
                dynamo.Write(
                    {
                        "Put": {
                            "TableName": _TABLE.name,
                            "Item": dynamo.marshal(follow_item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    lambda _old: AlreadyExists(f"delivery {follow.delivery_id} exists already"),
                )
            )
        dynamo.transact(writes)

    def list_deliveries(
        self, webhook_id: str, *, limit: int, token: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """A webhook's attempts, newest first."""
        partition = keys.webhook_deliveries(webhook_id)
        kwargs: dict[str, Any] = {
            "TableName": _TABLE.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": dynamo.values(pk=partition, prefix="DELIVERY#"),
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        start = dynamo.start_key(token, partition={"pk": partition}, sort="sk")
        if start:
            kwargs["ExclusiveStartKey"] = start
        result = dynamo.call(aws.dynamodb().query, **kwargs)
        items = [DeliveryRecord.model_validate(dynamo.unmarshal(i)) for i in result.get("Items", [])]
        return items, dynamo.page_token(result.get("LastEvaluatedKey"))
