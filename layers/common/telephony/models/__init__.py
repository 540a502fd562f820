"""Pydantic models: request bodies, responses and domain records."""
