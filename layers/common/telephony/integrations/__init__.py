"""Adapters to the outside: Step Functions, LiveKit. The only modules that import their SDKs."""
