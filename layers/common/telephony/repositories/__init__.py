"""Only these modules touch DynamoDB. Items become domain models at this boundary.

An item read by its key is read strongly consistent (`ConsistentRead`): a caller may read what it has just
written (create then fetch, register then call, a new API key at once), and the authorizer's answer is cached,
so a stale miss would refuse a new key for minutes (docs/adr/0012). So is a Query of a table's own key (a user's
stats, a call's transcript). Lists come from indexes, which DynamoDB only reads eventually consistent."""
