"""Resource ids shaped like LiveKit's (``<prefix>`` + 12 characters of base57).

LiveKit (livekit/protocol ``utils/guid``) builds ids from a prefix and 12 random
characters of the shortuuid alphabet (57 characters: no 0, 1, I, O, l).
"""

from __future__ import annotations

import os

# shortuuid's default alphabet: digits and letters without the look-alikes 0, 1, I, O and l.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
SIZE = 12

ROOM = "RM_"
PARTICIPANT = "PA_"
TRACK = "TR_"
SIP_TRUNK = "ST_"
SIP_DISPATCH_RULE = "SDR_"
SIP_CALL = "SCL_"
SIP_TRANSFER = "STR_"
AGENT_DISPATCH = "AD_"
WEBHOOK_EVENT = "EV_"


def new_id(prefix: str) -> str:
    # As guid does: take random 6-bit values and keep those that index the alphabet.
    out: list[str] = []
    while True:
        for byte in os.urandom(2 * SIZE):
            v = byte & 0x3F
            if v < len(ALPHABET):
                out.append(ALPHABET[v])
                if len(out) == SIZE:
                    return prefix + "".join(out)
