"""The baseline of the cold-start ratios: a handler that only imports boto3 and returns."""

import boto3  # noqa: F401 - importing it is the whole point


def lambda_handler(event, context):
    return {"statusCode": 200, "body": ""}
