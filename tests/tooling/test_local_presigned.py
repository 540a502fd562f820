"""S3's checks of presigned requests in front of moto (local/presigned.py, local/moto_server.py): AWS's own worked
example verified, each refusal as S3 answers it, the clock, and requests that are not presigned left alone."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import httpx
import moto
import pytest
from botocore.config import Config
from werkzeug.test import Client
from werkzeug.wrappers import Response

from local.moto_server import MotoServer
from local.presigned import Clock, PresignedRequests

# The worked example of a presigned GET in the Amazon S3 API Reference (Signature Version 4, query parameters).
EXAMPLE_KEY, EXAMPLE_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EXAMPLE_HOST = "examplebucket.s3.amazonaws.com"
EXAMPLE = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": f"{EXAMPLE_KEY}/20130524/us-east-1/s3/aws4_request",
    "X-Amz-Date": "20130524T000000Z",
    "X-Amz-Expires": "86400",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
}
SIGNED_AT = datetime(2013, 5, 24, tzinfo=UTC)


def _object(environ: dict[str, Any], start_response: Any) -> Any:
    return Response(b"the object")(environ, start_response)


@pytest.fixture
def clock() -> Clock:
    """An hour after the example was signed."""
    moved = Clock()
    moved.advance(SIGNED_AT.timestamp() + 3600 - time.time())
    return moved


@pytest.fixture
def s3(clock: Clock) -> Client:
    secrets = {EXAMPLE_KEY: EXAMPLE_SECRET}
    return Client(PresignedRequests(_object, clock=clock, secret_for=secrets.get))


def _get(s3: Client, query: dict[str, str], path: str = "/test.txt", **headers: str) -> Any:
    return s3.get(f"{path}?{urlencode(query)}", headers={"Host": EXAMPLE_HOST, **headers})


def _error(reply: Any) -> dict[str, str]:
    return {element.tag: element.text or "" for element in ET.fromstring(reply.data)}


def test_the_worked_example_verifies_and_reaches_the_object(s3):
    reply = _get(s3, EXAMPLE)
    assert reply.status_code == 200 and reply.data == b"the object"


def test_an_expired_link_is_refused_as_s3_refuses_it(s3, clock):
    clock.advance(86400 - 3600 - 1)  # a second before X-Amz-Date + X-Amz-Expires
    assert _get(s3, EXAMPLE).status_code == 200
    clock.advance(2)
    reply = _get(s3, EXAMPLE)
    assert reply.status_code == 403 and reply.mimetype == "application/xml"
    error = _error(reply)
    assert error["Code"] == "AccessDenied" and error["Message"] == "Request has expired"
    assert error["X-Amz-Expires"] == "86400" and error["Expires"] == "2013-05-25T00:00:00Z"
    assert error["ServerTime"] == "2013-05-25T00:00:01Z"
    assert error["RequestId"] and error["HostId"] and reply.headers["x-amz-request-id"] == error["RequestId"]
    head = s3.head(f"/test.txt?{urlencode(EXAMPLE)}", headers={"Host": EXAMPLE_HOST})
    assert head.status_code == 403 and head.data == b""  # a HEAD's refusal has no body


@pytest.mark.parametrize(
    "change",
    [
        {"X-Amz-Expires": "604800"},
        {"X-Amz-Date": "20130524T010000Z"},
        {"X-Amz-Credential": f"{EXAMPLE_KEY}/20130524/eu-west-1/s3/aws4_request"},
        {"X-Amz-Signature": "0" * 64},
        {"response-content-type": "text/html"},
    ],
)
def test_a_changed_parameter_breaks_the_signature(s3, change):
    reply = _get(s3, {**EXAMPLE, **change})
    assert reply.status_code == 403
    error = _error(reply)
    assert error["Code"] == "SignatureDoesNotMatch" and error["AWSAccessKeyId"] == EXAMPLE_KEY
    assert error["SignatureProvided"] == {**EXAMPLE, **change}["X-Amz-Signature"]
    assert error["CanonicalRequest"].startswith("GET\n/test.txt\n") and error["StringToSign"].startswith("AWS4-")


def test_another_object_or_host_breaks_the_signature(s3):
    assert _error(_get(s3, EXAMPLE, path="/other.txt"))["Code"] == "SignatureDoesNotMatch"
    other_host = s3.get(f"/test.txt?{urlencode(EXAMPLE)}", headers={"Host": "otherbucket.s3.amazonaws.com"})
    assert _error(other_host)["Code"] == "SignatureDoesNotMatch"


def test_malformed_parameters_and_unknown_keys(s3):
    missing = _get(s3, {k: v for k, v in EXAMPLE.items() if k != "X-Amz-Expires"})
    assert missing.status_code == 400 and _error(missing)["Code"] == "AuthorizationQueryParametersError"
    too_long = _get(s3, {**EXAMPLE, "X-Amz-Expires": "604801"})
    assert too_long.status_code == 400
    assert _error(too_long)["Message"] == "X-Amz-Expires must be less than a week (in seconds) that is 604800"
    assert _error(_get(s3, {**EXAMPLE, "X-Amz-Expires": "soon"}))["Message"] == "X-Amz-Expires should be a number"
    assert _error(_get(s3, {**EXAMPLE, "X-Amz-Credential": "nonsense"}))["Code"] == "AuthorizationQueryParametersError"
    assert _error(_get(s3, {**EXAMPLE, "X-Amz-Algorithm": "AWS4-HMAC-SHA1"}))["Code"] == (
        "AuthorizationQueryParametersError"
    )
    stranger = _get(s3, {**EXAMPLE, "X-Amz-Credential": "AKIDSTRANGER/20130524/us-east-1/s3/aws4_request"})
    assert stranger.status_code == 403 and _error(stranger)["Code"] == "InvalidAccessKeyId"


def test_a_header_the_link_did_not_sign_is_refused(s3):
    reply = _get(s3, EXAMPLE, **{"x-amz-server-side-encryption": "AES256"})
    error = _error(reply)
    assert reply.status_code == 403 and error["Code"] == "AccessDenied"
    assert error["Message"] == "There were headers present in the request which were not signed"
    assert error["HeadersNotSigned"] == "x-amz-server-side-encryption"


def test_requests_that_are_not_presigned_pass_untouched(s3):
    assert s3.get("/test.txt", headers={"Host": EXAMPLE_HOST}).data == b"the object"
    signed_in_headers = s3.get(
        f"/test.txt?{urlencode({'X-Amz-Date': 'whatever'})}",
        headers={"Host": EXAMPLE_HOST, "Authorization": "AWS4-HMAC-SHA256 Credential=..."},
    )
    assert signed_in_headers.data == b"the object"
    other_service = {**EXAMPLE, "X-Amz-Credential": f"{EXAMPLE_KEY}/20130524/us-east-1/sts/aws4_request"}
    assert _get(s3, other_service).data == b"the object"


def test_the_clock_is_told_moved_and_reset_over_http(s3, clock):
    told = s3.get("/_local/s3/clock").json
    assert told["now"].startswith("2013-05-24T01:00") and told["offset_seconds"] == clock.offset
    moved = s3.post("/_local/s3/clock", json={"advance_seconds": 86400}).json
    assert moved["now"].startswith("2013-05-25T01:00")
    assert _error(_get(s3, EXAMPLE))["Message"] == "Request has expired"
    assert s3.post("/_local/s3/clock", json={"advance_seconds": "later"}).status_code == 400
    assert s3.delete("/_local/s3/clock").json["offset_seconds"] == 0
    assert abs(clock.now().timestamp() - time.time()) < 5


@pytest.fixture
def server() -> Iterator[MotoServer]:
    with moto.mock_aws():
        running = MotoServer().start()
        yield running
        running.stop()


def test_a_link_boto3_signs_downloads_from_the_server_until_it_expires(server):
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="links")  # signed in its headers: passes to moto untouched
    s3.put_object(Bucket="links", Key="a b/ünï.ogg", Body=b"OggS...")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "links", "Key": "a b/ünï.ogg"}, ExpiresIn=300)
    assert urlsplit(url).netloc == urlsplit(server.url).netloc
    first = httpx.get(url)
    assert first.status_code == 200 and first.content == b"OggS..."
    server.clock.advance(301)
    expired = httpx.get(url)
    assert expired.status_code == 403 and "<Message>Request has expired</Message>" in expired.text
    query = dict(parse_qsl(urlsplit(url).query))
    assert f"<X-Amz-Expires>{query['X-Amz-Expires']}</X-Amz-Expires>" in expired.text
