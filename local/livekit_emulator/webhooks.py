"""Webhook delivery: one background worker posting events in the order they happened.

As livekit/protocol ``webhook.URLNotifier``: POST, ``Content-Type: application/webhook+json``,
body = protojson of ``livekit.WebhookEvent``, ``Authorization: <JWT>`` (no "Bearer" prefix)
signed with the API secret, ``iss`` = API key, claim ``sha256`` = base64(sha256(body)).
A failed delivery is logged and dropped (the real notifier retries a few times first).
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import urllib.error
import urllib.request

from google.protobuf.json_format import MessageToDict
from livekit.protocol import webhook as webhook_pb

from .auth import webhook_authorization

log = logging.getLogger("livekit_emulator")

CONTENT_TYPE = "application/webhook+json"
# No proxies from the environment: webhooks go straight to the configured URL.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
USER_AGENT = "LiveKit"


def encode_event(event: webhook_pb.WebhookEvent) -> bytes:
    """protojson.Marshal defaults: lowerCamelCase names, no unset fields, enums as names."""
    return json.dumps(MessageToDict(event), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class WebhookSender:
    def __init__(self, api_key: str, api_secret: str, timeout: float = 5.0) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._timeout = timeout
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[int, str, bytes]] = collections.deque()
        self._in_flight = 0
        self._generation = 0
        self._stopped = False
        self.sent = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="livekit-emulator-webhooks", daemon=True)
        self._thread.start()

    def enqueue(self, url: str, body: bytes) -> None:
        with self._cond:
            if self._stopped:
                return
            self._queue.append((self._generation, url, body))
            self._cond.notify_all()

    def reset(self) -> None:
        """Drops queued events; an event being delivered right now still completes."""
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self.sent = 0
            self.failed = 0
            self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until every queued event was delivered (or dropped)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout=timeout)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=self._timeout + 1)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopped or bool(self._queue))
                if self._stopped:
                    return
                generation, url, body = self._queue.popleft()
                self._in_flight += 1
            ok = self._post(url, body)
            with self._cond:
                self._in_flight -= 1
                if generation == self._generation:
                    if ok:
                        self.sent += 1
                    else:
                        self.failed += 1
                self._cond.notify_all()

    def _post(self, url: str, body: bytes) -> bool:
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's webhook endpoint
            url,
            data=body,
            method="POST",
            headers={
                "Authorization": webhook_authorization(self._api_key, self._api_secret, body),
                "Content-Type": CONTENT_TYPE,
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with _OPENER.open(request, timeout=self._timeout) as resp:
                resp.read()
                if 200 <= resp.status < 300:
                    return True
                log.warning("webhook %s answered %s", url, resp.status)
                return False
        except urllib.error.HTTPError as e:
            log.warning("webhook %s answered %s", url, e.code)
        except Exception as e:
            log.warning("webhook delivery to %s failed: %s", url, e)
        return False
