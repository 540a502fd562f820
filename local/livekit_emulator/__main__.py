"""Run the LiveKit server emulator in the foreground (``python -m local.livekit_emulator``)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, Emulator


def _default_port() -> int:
    value = os.environ.get("LIVEKIT_PORT")
    return int(value) if value else 7880


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.livekit_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=_default_port(), help="port (default $LIVEKIT_PORT or 7880; 0 = any free port)"
    )
    parser.add_argument(
        "--api-key", default=os.environ.get("LIVEKIT_API_KEY") or DEFAULT_API_KEY, help="API key (iss of tokens)"
    )
    parser.add_argument(
        "--api-secret",
        default=os.environ.get("LIVEKIT_API_SECRET") or DEFAULT_API_SECRET,
        help="API secret tokens are signed with",
    )
    parser.add_argument("--webhook-url", default=None, help="where to POST LiveKit webhooks")
    parser.add_argument(
        "--departure-timeout",
        type=float,
        default=0.0,
        help="seconds an emptied room lingers before room_finished (LiveKit: 20; default 0)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    emulator = Emulator(
        api_key=args.api_key,
        api_secret=args.api_secret,
        webhook_url=args.webhook_url,
        departure_timeout=args.departure_timeout,
    )
    emulator.start(host=args.host, port=args.port)
    logging.getLogger("livekit_emulator").info(
        "LiveKit emulator listening on %s (api key %s, webhook %s)", emulator.url, args.api_key, args.webhook_url
    )
    print(f"LIVEKIT_URL={emulator.url}", flush=True)

    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
