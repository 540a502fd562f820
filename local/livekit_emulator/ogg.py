"""A recording as LiveKit's egress writes an audio-only OGG file: Ogg Opus (RFC 7845), here of silence.

The file is what any player opens: an identification header page (``OpusHead``), a comment header page
(``OpusTags``), then audio pages of 20 ms Opus packets, each page with its CRC, the last flagged end-of-stream,
granule positions in 48 kHz samples counted from the start of the pre-skip, so that a reader's duration (last
granule position less the pre-skip) is the recording's length.

Each packet is the 3-byte Opus frame of digital silence (TOC 0xF8: CELT-only, fullband, 20 ms, one mono frame;
then the range coder's bytes for a silent frame), which every Opus decoder decodes to zeros.
"""

from __future__ import annotations

import os
import struct

SAMPLE_RATE = 48_000  # Opus's granule positions always count 48 kHz samples
FRAME_SAMPLES = 960  # 20 ms
PRE_SKIP = 312  # libopus's usual encoder delay, written in OpusHead
SILENT_FRAME = b"\xf8\xff\xfe"
PACKETS_PER_PAGE = 50  # one second of audio a page
VENDOR = b"livekit-emulator"

_BOS, _EOS = 0x02, 0x04


def _crc_table() -> list[int]:
    # Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0, no final xor
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def crc(data: bytes) -> int:
    value = 0
    for byte in data:
        value = ((value << 8) & 0xFFFFFFFF) ^ _TABLE[((value >> 24) & 0xFF) ^ byte]
    return value


def _page(packets: list[bytes], *, granule: int, serial: int, sequence: int, flags: int) -> bytes:
    """One page holding whole packets (each under 255 bytes here, so one lacing value each, < 255)."""
    lacing = bytearray()
    for packet in packets:
        size = len(packet)
        while size >= 255:
            lacing.append(255)
            size -= 255
        lacing.append(size)
    if len(lacing) > 255:
        raise ValueError("too many packets for one page")
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + bytes(lacing) + b"".join(packets))
    struct.pack_into("<I", page, 22, crc(bytes(page)))
    return bytes(page)


def opus_silence(seconds: float, *, serial: int | None = None) -> bytes:
    """An Ogg Opus file of `seconds` of silence (at least one packet)."""
    serial = int.from_bytes(os.urandom(4), "little") if serial is None else serial
    samples = max(round(seconds * SAMPLE_RATE), 1)
    total = samples + PRE_SKIP
    packets = -(-total // FRAME_SAMPLES)
    head = struct.pack("<8sBBHIhB", b"OpusHead", 1, 1, PRE_SKIP, SAMPLE_RATE, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", len(VENDOR)) + VENDOR + struct.pack("<I", 0)
    pages = [
        _page([head], granule=0, serial=serial, sequence=0, flags=_BOS),
        _page([tags], granule=0, serial=serial, sequence=1, flags=0),
    ]
    sequence = 2
    written = 0
    while written < packets:
        count = min(PACKETS_PER_PAGE, packets - written)
        written += count
        last = written == packets
        # the last page's granule position trims the final packet to the recording's exact length
        granule = total if last else written * FRAME_SAMPLES
        pages.append(
            _page([SILENT_FRAME] * count, granule=granule, serial=serial, sequence=sequence, flags=_EOS if last else 0)
        )
        sequence += 1
    return b"".join(pages)
