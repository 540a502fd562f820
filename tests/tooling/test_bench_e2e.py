"""Section 6 of the bench splits each create-call's time into moto's and the rest: the stack's clocks
(bench/timed_stack.py) must put moto's work inside the gateway request that caused it, and the bench must take
the measured requests' records, not the warm-up's, nor another route's."""

from __future__ import annotations

from typing import Any

import pytest

from bench import timed_stack
from bench.e2e import E2EResult, moto_share
from bench.world import Failure

CREATE = "/outbound-calls/create"


def record(path: str, moto_ms: float, *, requests: int = 3, method: str = "POST") -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "total_ms": moto_ms + 5,
        "moto_server_ms": moto_ms,
        "moto_backend_ms": moto_ms / 2,
        "moto_requests": requests,
    }


def test_the_last_requests_of_the_route_are_the_measured_ones() -> None:
    records = [
        record("/agents/a/phone-numbers", 99),
        record(CREATE, 50),  # the warm-up
        record(CREATE, 10),
        record("/outbound-calls/stats", 7, method="GET"),
        record(CREATE, 12),
    ]
    result = E2EResult(create_ms=[20.0, 30.0])
    moto_share(records, result, method="POST", path=CREATE, rounds=2)
    assert result.create_moto_server_ms == [10, 12]
    assert result.create_moto_backend_ms == [5, 6]
    assert result.create_moto_requests == [3, 3]
    assert result.without_moto_ms() == [10.0, 18.0]


@pytest.mark.parametrize(
    "records",
    [
        [],
        [record(CREATE, 10)],
        [record(CREATE, 10), record(CREATE, 10, requests=0)],
        [record(CREATE, 10), record(CREATE, 10, method="GET")],
    ],
)
def test_missing_or_unclocked_records_break_the_benchmark(records: list[dict[str, Any]]) -> None:
    with pytest.raises(Failure):
        moto_share(records, E2EResult(), method="POST", path=CREATE, rounds=2)


class FakeMoto:
    def serve(self) -> str:
        return "answer"

    def operate(self) -> None:
        pass


class FakeGateway:
    def __init__(self, moto: FakeMoto, calls: int) -> None:
        self.moto, self.calls = moto, calls

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        for _ in range(self.calls):
            self.moto.serve()
            self.moto.operate()
        return 201, {}, b"{}"


def test_moto_work_is_put_inside_the_gateway_request_that_caused_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timed_stack, "records", [])
    monkeypatch.setattr(FakeMoto, "serve", timed_stack._timed(FakeMoto.serve, "server", counts=True))
    monkeypatch.setattr(FakeMoto, "operate", timed_stack._timed(FakeMoto.operate, "backend"))
    monkeypatch.setattr(FakeGateway, "handle", timed_stack._recorded(FakeGateway.handle))
    moto = FakeMoto()
    assert moto.serve() == "answer"  # the clocks hand the answer on; outside any gateway request
    assert FakeGateway(moto, 3).handle("POST", f"{CREATE}?x=1", {}, b"") == (201, {}, b"{}")
    FakeGateway(moto, 0).handle("GET", "/outbound-calls/stats", {}, b"")
    first, second = timed_stack.records
    assert (first["method"], first["path"], first["moto_requests"]) == ("POST", CREATE, 3)
    assert first["moto_backend_ms"] > 0 and 0 < first["moto_server_ms"] <= first["total_ms"]
    assert (second["path"], second["moto_requests"], second["moto_server_ms"], second["moto_backend_ms"]) == (
        "/outbound-calls/stats",
        0,
        0,
        0,
    )
