"""Shared code of the telephony API: handlers -> services -> repositories / integrations."""

from telephony import startup

startup.hold()  # the first import of the layer in a Lambda container: see telephony/startup.py
