"""What S3 checks of a presigned request (Signature Version 4 in the query string) and moto does not: its parameters,
its access key, its signature, recomputed here with botocore's own signer, and its expiry, against a clock that a
test or a developer can move forward (`Clock`, and `POST /_local/s3/clock` on the server). A WSGI middleware in
front of moto's app (local/moto_server.py); a request signed in its `Authorization` header, as the SDKs send
theirs, passes untouched.

S3's answers, as S3 words them: 400 `AuthorizationQueryParametersError` for missing or malformed parameters (an
X-Amz-Expires over a week among them), 403 `InvalidAccessKeyId` for a key S3 does not know, 403
`SignatureDoesNotMatch` when any signed part was changed, 403 `AccessDenied` "There were headers present in the
request which were not signed", and 403 `AccessDenied` "Request has expired" once X-Amz-Date + X-Amz-Expires has
passed.

The keys known here are the process's own (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, read at each request): the
functions run in this process with them, and they are the only ones that sign links locally.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from html import escape  # &, <, > and quotes as entities: what XML text needs
from typing import Any, cast
from urllib.parse import quote

CLOCK_PATH = "/_local/s3/clock"  # never a bucket's path: a bucket's name has no underscore
ALGORITHM = "AWS4-HMAC-SHA256"
QUERY_PARAMETERS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
LONGEST_EXPIRY = 604800  # seconds: S3 honours a Signature Version 4 link for a week at most
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_SHOWN_DATE = "%Y-%m-%dT%H:%M:%SZ"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Clock:
    """The local S3's time: the machine's, moved by what `advance` added (S3's own clock is no one's to set; here a
    test moves it forward to see a link expire without waiting for it)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offset, UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


class Refusal(Exception):
    """An S3 error answer: its status, code, message and the extra elements S3 adds to that error."""

    def __init__(self, status: int, code: str, message: str, **details: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self, request_id: str, host_id: str) -> bytes:
        elements = {"Code": self.code, "Message": self.message, **self.details}
        elements.update(RequestId=request_id, HostId=host_id)
        parts = [f"<{name}>{escape(value)}</{name}>" for name, value in elements.items()]
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{"".join(parts)}</Error>'.encode()


def environment_secret(access_key: str) -> str | None:
    """The secret of `access_key` if it is this process's own key."""
    if access_key and access_key == os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ.get("AWS_SECRET_ACCESS_KEY")
    return None


class PresignedRequests:
    """The WSGI middleware: refuses what S3 refuses of a presigned request, passes everything else to `app`."""

    def __init__(
        self, app: WsgiApp, *, clock: Clock | None = None, secret_for: Callable[[str], str | None] = environment_secret
    ) -> None:
        self.app = app
        self.clock = clock or Clock()
        self.secret_for = secret_for

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from werkzeug.wrappers import Request

        request = Request(environ)
        if request.path == CLOCK_PATH:
            return self._clock(request)(environ, start_response)
        if not is_presigned(request):
            return self.app(environ, start_response)
        try:
            self.check(request)
        except Refusal as refusal:
            return _refused(refusal, head=request.method == "HEAD")(environ, start_response)
        return self.app(environ, start_response)

    def check(self, request: Any) -> None:
        """Raises the Refusal S3 answers `request` with, if any; in S3's order (parameters, key, signature, headers
        left unsigned, expiry)."""
        args = {name: request.args.get(name, "") for name in QUERY_PARAMETERS}
        if not all(args.values()):
            raise _parameters_error(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
            )
        if args["X-Amz-Algorithm"] != ALGORITHM:
            raise _parameters_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
        scope = args["X-Amz-Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise _parameters_error(
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "
                '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
            )
        access_key, _, region, service, _ = scope
        try:
            signed_at = datetime.strptime(args["X-Amz-Date"], _AMZ_DATE).replace(tzinfo=UTC)
        except ValueError:
            raise _parameters_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"") from None
        expires = _expires(args["X-Amz-Expires"])

        secret = self.secret_for(access_key)
        if secret is None:
            raise Refusal(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                AWSAccessKeyId=access_key,
            )
        signed_headers = args["X-Amz-SignedHeaders"].split(";")
        canonical, to_sign, signature = _signature(request, secret, access_key, region, service, signed_headers)
        if signature != args["X-Amz-Signature"]:
            raise Refusal(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key "
                "and signing method.",
                AWSAccessKeyId=access_key,
                StringToSign=to_sign,
                SignatureProvided=args["X-Amz-Signature"],
                CanonicalRequest=canonical,
            )
        unsigned = sorted(
            name.lower()
            for name, _ in request.headers
            if name.lower().startswith("x-amz-") and name.lower() not in signed_headers
        )
        if unsigned:
            raise Refusal(
                403,
                "AccessDenied",
                "There were headers present in the request which were not signed",
                HeadersNotSigned=", ".join(unsigned),
            )
        now = self.clock.now()
        deadline = signed_at + timedelta(seconds=expires)
        if now > deadline:
            raise Refusal(
                403,
                "AccessDenied",
                "Request has expired",
                **{"X-Amz-Expires": str(expires)},
                Expires=deadline.strftime(_SHOWN_DATE),
                ServerTime=now.strftime(_SHOWN_DATE),
            )

    def _clock(self, request: Any) -> WsgiApp:
        """`GET` tells the clock; `POST {"advance_seconds": n}` moves it by n seconds; `DELETE` sets it back to the
        machine's."""
        from werkzeug.wrappers import Response

        if request.method == "POST":
            try:
                self.clock.advance(float(json.loads(request.get_data() or b"{}")["advance_seconds"]))
            except (ValueError, KeyError, TypeError) as exc:
                body = {"error": f'send {{"advance_seconds": <seconds>}}: {exc}'}
                return Response(json.dumps(body), 400, mimetype="application/json")
        elif request.method == "DELETE":
            self.clock.reset()
        elif request.method != "GET":
            return Response(status=405)
        state = {"now": self.clock.now().strftime(_SHOWN_DATE), "offset_seconds": self.clock.offset}
        return Response(json.dumps(state), 200, mimetype="application/json")


def is_presigned(request: Any) -> bool:
    """A request authenticated by its query string (Signature Version 4) for S3, not by an Authorization header."""
    if "Authorization" in request.headers:
        return False
    if not any(name in request.args for name in QUERY_PARAMETERS):
        return False
    scope = request.args.get("X-Amz-Credential", "").split("/")
    return len(scope) != 5 or scope[3] == "s3"


def _expires(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        raise _parameters_error("X-Amz-Expires should be a number") from None
    if seconds < 0:
        raise _parameters_error("X-Amz-Expires must be non-negative")
    if seconds > LONGEST_EXPIRY:
        raise _parameters_error(f"X-Amz-Expires must be less than a week (in seconds) that is {LONGEST_EXPIRY}")
    return seconds


def _signature(
    request: Any, secret: str, access_key: str, region: str, service: str, signed_headers: list[str]
) -> tuple[str, str, str]:
    """The canonical request, the string to sign and the signature S3 computes for `request`: botocore's presigned
    URL signer given the request's own time, path, query (less its signature) and signed headers."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    path = quote(request.path, safe="/~")  # S3's canonical URI: each byte encoded once, the key as sent
    params = [(name, value) for name, value in request.args.items(multi=True) if name != "X-Amz-Signature"]
    headers = {name: request.headers[name] for name in signed_headers if name in request.headers}
    url = f"{request.scheme}://{request.host}{path}"
    unsigned = AWSRequest(method=request.method, url=url, headers=headers)
    unsigned.params = cast(Any, params)  # pairs, not a mapping: a name sent twice is signed twice, as S3 reads it
    unsigned.context["timestamp"] = request.args["X-Amz-Date"]
    signer = S3SigV4QueryAuth(Credentials(access_key, secret), service, region)
    canonical = signer.canonical_request(unsigned)
    to_sign = signer.string_to_sign(unsigned, canonical)
    return canonical, to_sign, signer.signature(to_sign, unsigned)


def _parameters_error(message: str) -> Refusal:
    return Refusal(400, "AuthorizationQueryParametersError", message)


def _refused(refusal: Refusal, *, head: bool) -> WsgiApp:
    """S3's error answer: the XML error (none to a HEAD, which has no body), with a request id and host id."""
    from werkzeug.wrappers import Response

    request_id = secrets.token_hex(8).upper()
    host_id = base64.b64encode(secrets.token_bytes(48)).decode()
    body = b"" if head else refusal.body(request_id, host_id)
    headers = {"x-amz-request-id": request_id, "x-amz-id-2": host_id}
    return Response(body, refusal.status, headers=headers, mimetype="application/xml")
