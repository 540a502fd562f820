"""Shared code of the telephony API: handlers -> services -> repositories / integrations."""
