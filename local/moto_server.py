"""moto's server on loopback, in a thread of this process, with S3's checks of presigned requests in front of it
(local/presigned.py): the app and request handler that moto's own `moto_server` command serves (moto.server), behind
that middleware. It holds the same state as moto's in-process mock (`mock_aws`), as ThreadedMotoServer does, so the
tests serve their S3 through it too and a link they download meets the same checks as one `make dev` serves."""

from __future__ import annotations

import threading
from typing import Any

from local.presigned import Clock, PresignedRequests


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.clock = Clock()  # the local S3's clock, which decides when a presigned link has expired
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = PresignedRequests(DomainDispatcherApplication(create_backend_app), clock=self.clock)
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
