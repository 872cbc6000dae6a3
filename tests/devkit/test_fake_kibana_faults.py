"""Fake Kibana: injected faults — latency, status, 429 + Retry-After, dropped connections, times=N."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from devkit.fake_kibana import FakeKibana

DISABLE = r"/api/alerting/rule/[^/]+/_disable"


async def test_status_fault_answers_boom_body_and_then_stops(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(id="r1", space="ops")
    fake_kibana.fault("POST", DISABLE, status=503, times=2)
    first = await kibana_http.post("/s/ops/api/alerting/rule/r1/_disable")
    second = await kibana_http.post("/s/ops/api/alerting/rule/r1/_disable")
    third = await kibana_http.post("/s/ops/api/alerting/rule/r1/_disable")
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 204]
    assert first.json() == {"statusCode": 503, "error": "Service Unavailable", "message": "Service Unavailable"}
    assert fake_kibana.rule("r1", space="ops")["enabled"] is False
    assert fake_kibana.count("POST", "/api/alerting/rule/{id}/_disable") == 3  # faulted requests are recorded


async def test_429_carries_retry_after_and_custom_body(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.fault("GET", r"/api/alerting/_health", status=429, retry_after=2, times=1, body={"message": "slow"})
    limited = await kibana_http.get("/api/alerting/_health")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json() == {"message": "slow"}
    assert (await kibana_http.get("/api/alerting/_health")).status_code == 200


async def test_fault_only_matches_its_method_and_path(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1")
    fake_kibana.fault("POST", DISABLE, status=500)
    assert (await kibana_http.post("/api/alerting/rule/r1/_enable")).status_code == 204
    assert (await kibana_http.get("/api/alerting/rule/r1")).status_code == 200
    assert (await kibana_http.post("/api/alerting/rule/r1/_disable")).status_code == 500
    assert (await kibana_http.post("/api/alerting/rule/r1/_disable")).status_code == 500  # times=None: forever
    fake_kibana.clear_faults()
    assert (await kibana_http.post("/api/alerting/rule/r1/_disable")).status_code == 204


async def test_dropped_connection_has_no_http_answer(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    seen = []
    fake_kibana.on_exchange = seen.append
    fake_kibana.fault("GET", r"/api/alerting/_health", drop=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await kibana_http.get("/api/alerting/_health")
    assert (await kibana_http.get("/api/alerting/_health")).status_code == 200
    assert [exchange.status for exchange in seen] == [200]
    assert fake_kibana.count("GET", "/api/alerting/_health") == 2


async def test_latency_delays_the_answer(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.fault("GET", r"/api/alerting/_health", latency=5, times=1)
    with pytest.raises(httpx.ReadTimeout):
        await kibana_http.get("/api/alerting/_health", timeout=0.3)
    # the slow answer did not block other requests, and the fault was used up
    assert (await kibana_http.get("/api/alerting/_health", timeout=3)).status_code == 200


async def test_latency_then_status(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.fault("GET", r"/api/alerting/_health", latency=0.2, status=502, times=1)
    slow = asyncio.create_task(kibana_http.get("/api/alerting/_health"))
    await asyncio.sleep(0.05)
    assert not slow.done()  # still waiting on the latency
    assert (await slow).status_code == 502
