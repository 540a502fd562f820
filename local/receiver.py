"""A customer's webhook endpoint on 127.0.0.1, for trying webhooks against `make dev` and for the tests.

    .venv/bin/python -m local.receiver --port 9000 --secret whsec_...

prints each event it receives, verified with the `standardwebhooks` library (Standard Webhooks v1, what any
customer would use), and answers 200; `--fail 500,500` answers those statuses first, to watch the retries.
The local stack allows `http://127.0.0.1:<port>` endpoints only because `make dev` sets `AllowLoopbackWebhooks`.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass
class Received:
    headers: dict[str, str]  # lower-cased names
    raw: bytes
    status: int  # what the receiver answered

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)  # type: ignore[no-any-return]

    def verified(self, secret: str) -> dict[str, Any]:
        """The body, if the `standardwebhooks` library verifies its signature with `secret` (it raises otherwise)."""
        from standardwebhooks.webhooks import Webhook

        headers = {name: self.headers.get(name, "") for name in SIGNATURE_HEADERS}
        return Webhook(secret).verify(self.raw, headers)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """Records every POST and answers the statuses in `answers` in turn, then 200."""

    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("start() first")
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self, port: int = 0, *, on_receive: Any = None) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    got = Received({k.lower(): v for k, v in self.headers.items()}, raw, status)
                    receiver.received.append(got)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if on_receive:
                    on_receive(got)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def of_type(self, *types: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if not types or r.body.get("type") in types]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", help="the webhook's whsec_ secret: each event is verified with it")
    parser.add_argument("--fail", default="", help="statuses to answer first, comma-separated (e.g. 500,500)")
    args = parser.parse_args()

    def show(got: Received) -> None:
        try:
            body = got.verified(args.secret) if args.secret else got.body
            verdict = "verified" if args.secret else "not verified (no --secret)"
        except Exception as exc:  # the library's own error says why: shown, and the event with it
            body, verdict = got.body, f"NOT VERIFIED: {exc}"
        print(f"<- {got.headers.get('webhook-id')} answered {got.status}, {verdict}")
        print(json.dumps(body, indent=2), flush=True)

    receiver = Receiver(answers=[int(s) for s in args.fail.split(",") if s.strip()]).start(args.port, on_receive=show)
    print(f"receiving on {receiver.url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
