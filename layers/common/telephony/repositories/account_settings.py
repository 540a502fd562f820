"""An account's settings: one item in the AccountsTable, saved whole and conditionally on the version read."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.errors import SettingsChanged
from telephony.models.account_settings import SettingsRecord
from telephony.repositories import dynamo, keys

_TABLE = dynamo.Table("accounts_table")
SETTINGS = "SETTINGS"


class AccountSettingsRepository:
    def get(self, owner_id: str) -> SettingsRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.account(owner_id, SETTINGS))
        return SettingsRecord.model_validate(item) if item else None

    def save(self, settings: SettingsRecord) -> None:
        """Write the settings if they are still at the version before this one (none yet for version 1):
        SettingsChanged when another request saved them meanwhile."""
        item = {**keys.account(settings.owner_id, SETTINGS), **settings.model_dump(mode="json")}
        if settings.version == 1:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :previous",
                "ExpressionAttributeValues": dynamo.values(previous=settings.version - 1),
            }
        try:
            dynamo.call(aws.dynamodb().put_item, TableName=_TABLE.name, Item=dynamo.marshal(item), **condition)
        except dynamo.ConditionFailed as exc:
            raise SettingsChanged("the settings were changed by another request; send the change again") from exc
