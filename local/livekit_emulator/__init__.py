"""A LiveKit server emulator for local development and tests.

It speaks LiveKit's Twirp API (SIP, RoomService, AgentDispatchService) well enough that the
official ``livekit-api`` client cannot tell it from a server, simulates outbound SIP calls
(ringing, answer, busy, no answer, ...) and sends LiveKit webhooks. See README.md.
"""

from .control import OUTCOMES
from .emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, Emulator
from .twirp import TwirpError

__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "OUTCOMES", "Emulator", "TwirpError"]
