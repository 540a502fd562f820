"""The domain's records: pydantic models for bodies, answers and stored items; the caller is a dataclass."""
