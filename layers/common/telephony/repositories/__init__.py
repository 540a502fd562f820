"""Only these modules touch DynamoDB. Items become domain models at this boundary."""
