"""Adapters to the outside: Step Functions, LiveKit, Bedrock, SQS, Secrets Manager. The only modules that import
their SDKs."""
