"""Twirp transport, error shapes and authentication, as a LiveKit server answers them."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time

import pytest
from emulator_helpers import API_KEY, API_SECRET, Client, run, token
from livekit import api
from livekit.protocol import sip as sip_pb

SIP_LIST_IN = "/twirp/livekit.SIP/ListSIPInboundTrunk"
ADMIN = api.SIPGrants(admin=True)


def _bearer(tok: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + tok}


def _post(client: Client, path: str, body: bytes, tok: str | None, ctype: str = "application/protobuf"):
    headers = {"Content-Type": ctype}
    if tok is not None:
        headers.update(_bearer(tok))
    return client.http("POST", path, body, headers)


def _hand_token(claims: dict, secret: str = API_SECRET, alg: str = "HS256") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


# ------------------------------------------------------------------------------ transport


def test_protobuf_round_trip_and_content_type(client: Client) -> None:
    status, headers, body = _post(client, SIP_LIST_IN, b"", token(sip=ADMIN))
    assert status == 200
    assert headers["Content-Type"] == "application/protobuf"
    assert sip_pb.ListSIPInboundTrunkResponse.FromString(body).items == []


def test_json_request_gets_protojson_reply(client: Client) -> None:
    req = json.dumps({"trunk": {"name": "j", "address": "sip.example.com", "numbers": ["+15550002222"]}})
    status, headers, body = _post(
        client, "/twirp/livekit.SIP/CreateSIPOutboundTrunk", req.encode(), token(sip=ADMIN), "application/json"
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    out = json.loads(body)
    assert out["sip_trunk_id"].startswith("ST_")
    assert out["numbers"] == ["+15550002222"]
    assert out["name"] == "j"
    assert out["auth_username"] == ""  # defaults are emitted, with proto field names


def test_wrong_content_type_is_bad_route(client: Client) -> None:
    status, headers, body = _post(client, SIP_LIST_IN, b"{}", token(sip=ADMIN), "text/plain")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    err = json.loads(body)
    assert err["code"] == "bad_route"
    assert err["msg"] == 'unexpected Content-Type: "text/plain"'
    assert err["meta"] == {"twirp_invalid_route": "POST " + SIP_LIST_IN}


def test_unknown_method_is_bad_route(client: Client) -> None:
    status, _, body = _post(client, "/twirp/livekit.SIP/NoSuchMethod", b"", token(sip=ADMIN))
    assert status == 404
    err = json.loads(body)
    assert err["code"] == "bad_route"
    assert err["msg"] == 'no handler for path "/twirp/livekit.SIP/NoSuchMethod"'


def test_unknown_method_through_client_shape(client: Client) -> None:
    # A 4xx Twirp error must surface with code, message, status and metadata.
    async def call(lk: api.LiveKitAPI):
        return await lk.sip._client.request(
            "SIP", "NoSuchMethod", sip_pb.ListSIPInboundTrunkRequest(), {}, sip_pb.ListSIPInboundTrunkResponse
        )

    err = client.error(call)
    assert (err.code, err.status) == ("bad_route", 404)
    assert err.message == 'no handler for path "/twirp/livekit.SIP/NoSuchMethod"'
    assert err.metadata == {"twirp_invalid_route": "POST /twirp/livekit.SIP/NoSuchMethod"}


def test_non_post_is_bad_route(client: Client) -> None:
    status, _, body = client.http("GET", SIP_LIST_IN)
    assert status == 404
    err = json.loads(body)
    assert err == {
        "code": "bad_route",
        "msg": 'unsupported method "GET" (only POST is allowed)',
        "meta": {"twirp_invalid_route": "GET " + SIP_LIST_IN},
    }


def test_unknown_service_is_plain_404(client: Client) -> None:
    status, headers, body = _post(client, "/twirp/livekit.Nope/Foo", b"", token(sip=ADMIN))
    assert status == 404
    assert headers["Content-Type"].startswith("text/plain")
    assert body == b"404 page not found\n"


def test_a_method_the_emulator_does_not_serve_is_unimplemented(client: Client) -> None:
    # Given a method of a mounted service that no service module's METHODS table serves
    path = "/twirp/livekit.RoomService/MutePublishedTrack"
    # When it is called
    status, _, body = _post(client, path, b"{}", token(video=api.VideoGrants(room_admin=True)), "application/json")
    # Then it is routed, counted and answered as a method without an implementation
    assert status == 501
    assert json.loads(body) == {
        "code": "unimplemented",
        "msg": "livekit.RoomService.MutePublishedTrack is not implemented by the LiveKit emulator",
    }
    assert client.state()["counts"] == {"MutePublishedTrack": 1}


def test_malformed_bodies(client: Client) -> None:
    status, _, body = _post(client, SIP_LIST_IN, b"\xff\xff\xff", token(sip=ADMIN))
    assert status == 400
    assert json.loads(body) == {"code": "malformed", "msg": "the protobuf request could not be decoded"}
    status, _, body = _post(client, SIP_LIST_IN, b"{not json", token(sip=ADMIN), "application/json")
    assert status == 400
    assert json.loads(body) == {"code": "malformed", "msg": "the json request could not be decoded"}


def test_root_and_health(client: Client) -> None:
    assert client.http("GET", "/")[::2] == (200, b"OK")
    status, health = client.control("GET", "health")
    assert (status, health) == (200, {"status": "ok"})


# ------------------------------------------------------------------------------ authentication


def test_no_token_is_permissions_denied(client: Client) -> None:
    status, headers, body = _post(client, SIP_LIST_IN, b"", None)
    assert status == 401
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"code": "unauthenticated", "msg": "permissions denied"}


def test_non_bearer_header(client: Client) -> None:
    status, headers, body = client.http(
        "POST", SIP_LIST_IN, b"", {"Content-Type": "application/protobuf", "Authorization": "Basic abc"}
    )
    assert status == 401
    assert headers["Content-Type"].startswith("text/plain")
    assert body == b"invalid authorization header. Must start with Bearer "


def test_garbage_token(client: Client) -> None:
    status, _, body = _post(client, SIP_LIST_IN, b"", "not.a-jwt")
    assert (status, body) == (401, b"invalid authorization token")


def test_bad_signature_through_client(client: Client) -> None:
    with pytest.raises(api.TwirpError) as info:
        run(
            lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()),
            client.url,
            secret="another-secret-0123456789abcdef0123",
        )
    # a plain-text 401: the client finds no Twirp code in it, as with a real server
    err = info.value
    assert (err.code, err.status, err.message) == ("unknown", 401, "")


def test_bad_signature_message(client: Client) -> None:
    tok = token(secret="another-secret-0123456789abcdef0123", sip=ADMIN)
    status, _, body = _post(client, SIP_LIST_IN, b"", tok)
    assert status == 401
    assert body == b"invalid authorization token: token signature is invalid: signature is invalid"


def test_wrong_api_key(client: Client) -> None:
    status, _, body = _post(client, SIP_LIST_IN, b"", token(key="other-key", sip=ADMIN))
    assert (status, body) == (401, b"invalid API key")
    with pytest.raises(api.TwirpError) as info:
        run(lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()), client.url, key="other-key")
    assert info.value.status == 401


def test_expired_token(client: Client) -> None:
    tok = token(sip=ADMIN, ttl=datetime.timedelta(seconds=-120))
    status, _, body = _post(client, SIP_LIST_IN, b"", tok)
    assert status == 401
    assert body == b"invalid authorization token: token has invalid claims: token is expired"


def test_expired_within_leeway_is_accepted(client: Client) -> None:
    tok = token(sip=ADMIN, ttl=datetime.timedelta(seconds=-30))
    assert _post(client, SIP_LIST_IN, b"", tok)[0] == 200


def test_not_yet_valid_and_missing_exp(client: Client) -> None:
    now = int(time.time())
    future = _hand_token({"iss": API_KEY, "nbf": now + 3600, "exp": now + 7200, "sip": {"admin": True}})
    status, _, body = _post(client, SIP_LIST_IN, b"", future)
    assert (status, body) == (401, b"invalid authorization token: token has invalid claims: token is not valid yet")
    no_exp = _hand_token({"iss": API_KEY, "sip": {"admin": True}})
    status, _, body = _post(client, SIP_LIST_IN, b"", no_exp)
    assert status == 401
    assert body == (
        b"invalid authorization token: token has invalid claims: token is missing required claim: exp claim is required"
    )


def test_other_algorithm_rejected(client: Client) -> None:
    now = int(time.time())
    tok = _hand_token({"iss": API_KEY, "exp": now + 60, "sip": {"admin": True}}, alg="HS512")
    status, _, body = _post(client, SIP_LIST_IN, b"", tok)
    assert status == 401
    assert body == b"invalid authorization token: token signature is invalid: signing method HS512 is invalid"


def test_access_token_query_parameter(client: Client) -> None:
    status, _, _ = client.http(
        "POST", SIP_LIST_IN + "?access_token=" + token(sip=ADMIN), b"", {"Content-Type": "application/protobuf"}
    )
    assert status == 200


def _grant_error(client: Client, path: str, body: bytes, tok: str) -> tuple[int, dict]:
    status, _, raw = _post(client, path, body, tok)
    return status, json.loads(raw)


DENIED = (401, {"code": "unauthenticated", "msg": "permissions denied"})


def test_missing_sip_admin(client: Client) -> None:
    for tok in (token(sip=api.SIPGrants(call=True)), token(video=api.VideoGrants(room_admin=True, room="r"))):
        assert _grant_error(client, SIP_LIST_IN, b"", tok) == DENIED
    req = sip_pb.CreateSIPOutboundTrunkRequest(
        trunk=sip_pb.SIPOutboundTrunkInfo(address="sip.example.com", numbers=["+1555"])
    )
    path = "/twirp/livekit.SIP/CreateSIPOutboundTrunk"
    assert _grant_error(client, path, req.SerializeToString(), token(sip=api.SIPGrants(call=True))) == DENIED
    assert client.state()["outbound_trunks"] == []


def test_missing_sip_call(client: Client) -> None:
    req = sip_pb.CreateSIPParticipantRequest(sip_trunk_id="ST_x", sip_call_to="+1555", room_name="r")
    path = "/twirp/livekit.SIP/CreateSIPParticipant"
    assert _grant_error(client, path, req.SerializeToString(), token(sip=ADMIN)) == DENIED
    assert client.state()["calls"] == []


def test_missing_room_admin(client: Client) -> None:
    from livekit.protocol import room as room_pb

    body = room_pb.ListParticipantsRequest(room="r1").SerializeToString()
    path = "/twirp/livekit.RoomService/ListParticipants"
    assert _grant_error(client, path, body, token(sip=ADMIN)) == DENIED
    # roomAdmin for another room is not enough
    assert _grant_error(client, path, body, token(video=api.VideoGrants(room_admin=True, room="r2"))) == DENIED
    assert _post(client, path, body, token(video=api.VideoGrants(room_admin=True, room="r1")))[0] == 200
    # room-wide methods want roomCreate / roomList, as livekit-server
    create = room_pb.CreateRoomRequest(name="r1").SerializeToString()
    create_path = "/twirp/livekit.RoomService/CreateRoom"
    assert _grant_error(client, create_path, create, token(video=api.VideoGrants(room_admin=True, room="r1"))) == DENIED
    assert _post(client, create_path, create, token(video=api.VideoGrants(room_create=True)))[0] == 200
    list_path = "/twirp/livekit.RoomService/ListRooms"
    assert _grant_error(client, list_path, b"", token(video=api.VideoGrants(room_create=True))) == DENIED
    assert _post(client, list_path, b"", token(video=api.VideoGrants(room_list=True)))[0] == 200


def test_missing_grant_through_client_for_dispatch(client: Client) -> None:
    from livekit.protocol import agent_dispatch as ad_pb

    body = ad_pb.CreateAgentDispatchRequest(room="r1", agent_name="a").SerializeToString()
    path = "/twirp/livekit.AgentDispatchService/CreateDispatch"
    assert _grant_error(client, path, body, token(video=api.VideoGrants(room_create=True))) == DENIED
    assert client.state()["rooms"] == []
