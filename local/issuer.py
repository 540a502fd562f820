"""A development OIDC issuer: an RSA key, its JWKS, and dev JWTs signed with it."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class Issuer:
    def __init__(self, url: str = "", *, audience: str = "telephony-local", kid: str = "dev-1") -> None:
        self.url = url
        self.audience = audience
        self.kid = kid
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server: ThreadingHTTPServer | None = None

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/.well-known/jwks.json",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def document(self, path: str) -> dict[str, Any] | None:
        """The JSON served at a path under the issuer URL, if any."""
        if path.endswith("/.well-known/jwks.json"):
            return self.jwks()
        if path.endswith("/.well-known/openid-configuration"):
            return self.discovery()
        return None

    def mint(
        self, subject: str, *, role: str = "user", ttl: int = 12 * 3600, without: tuple[str, ...] = (), **claims: Any
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        if role != "user":
            payload.setdefault("cognito:groups", [role])
        for claim in without:
            payload.pop(claim, None)
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.kid})

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the JWKS on its own port (tests); the local stack serves it through its gateway instead."""
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                doc = issuer.document(self.path)
                body = json.dumps(doc or {"message": "Not Found"}).encode()
                self.send_response(200 if doc else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://{host}:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
