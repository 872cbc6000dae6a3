"""The retry policy over real HTTP: what is sent again, what never is, and Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from bot.kibana import CaseCreate, KibanaClient, KibanaRateLimited, KibanaTimeout, KibanaUnavailable
from devkit.fake_kibana import Exchange, FakeKibana

from .conftest import quick_retry

RULE_PATH = r"/api/alerting/rule/[^/]+"


async def test_idempotent_call_survives_a_503(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.add_rule(id="r1")
    fake.fault("POST", RULE_PATH + "/_disable", status=503, times=1)

    await kibana.disable_rule("r1")

    assert fake.count("POST", "/api/alerting/rule/{id}/_disable") == 2
    assert fake.rule("r1")["enabled"] is False


@pytest.mark.parametrize(
    ("method", "pattern", "call", "route"),
    [
        ("GET", RULE_PATH, lambda k: k.get_rule("r1"), "/api/alerting/rule/{id}"),
        ("GET", r"/api/alerting/rules/_find", lambda k: k.find_rules("cpu"), "/api/alerting/rules/_find"),
        ("POST", RULE_PATH + "/alert/host-1/_mute", lambda k: k.mute_alert("r1", "host-1"), None),
        ("POST", RULE_PATH + "/_unmute_all", lambda k: k.unmute_all("r1"), "/api/alerting/rule/{id}/_unmute_all"),
        ("POST", RULE_PATH + "/_enable", lambda k: k.enable_rule("r1"), "/api/alerting/rule/{id}/_enable"),
    ],
)
async def test_dropped_connection_on_idempotent_calls_is_retried(
    fake: FakeKibana, kibana: KibanaClient, method: str, pattern: str, call: Callable, route: str | None
) -> None:
    fake.add_rule(id="r1", active_alerts=["host-1"])
    fake.fault(method, pattern, drop=True, times=1)

    await call(kibana)

    route = route or "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute"
    assert fake.count(method, route) == 2


async def test_case_create_that_times_out_is_not_sent_twice(
    fake: FakeKibana, connect: Callable[..., KibanaClient]
) -> None:
    client = connect(timeout=0.3)
    fake.fault("POST", r"/api/cases", latency=1.0, times=1)

    with pytest.raises(KibanaTimeout) as caught:
        await client.create_case(CaseCreate(title="Checkout down", description="from Slack", tags=["dedup:42"]))

    assert caught.value.request_sent is True  # the case may exist: look it up, don't resend
    assert fake.count("POST", "/api/cases") == 1
    for _ in range(40):  # the fake finishes the slow request: exactly one case appears
        if fake.cases:
            break
        await asyncio.sleep(0.05)
    found = await client.find_cases(tags=["dedup:42"])
    assert [c.title for c in found.cases] == ["Checkout down"]
    assert fake.count("POST", "/api/cases") == 1


@pytest.mark.parametrize("fault", [{"status": 503}, {"drop": True}])
async def test_case_create_is_not_resent_after_a_failure_at_kibana(
    fake: FakeKibana, kibana: KibanaClient, fault: dict
) -> None:
    fake.fault("POST", r"/api/cases", times=1, **fault)

    with pytest.raises(KibanaUnavailable):
        await kibana.create_case(CaseCreate(title="t", description="d"))

    assert fake.count("POST", "/api/cases") == 1


@pytest.mark.parametrize(
    ("pattern", "call", "route"),
    [
        (
            RULE_PATH + "/snooze_schedule",
            lambda k: k.snooze_rule("r1", "1h"),
            "/api/alerting/rule/{id}/snooze_schedule",
        ),
        (r"/api/cases/[^/]+/comments", lambda k: k.add_case_comment("c1", "x", owner="cases"), None),
        (r"/api/apm/agent_keys", lambda k: k.create_agent_key("k", ["event:write"]), "/api/apm/agent_keys"),
    ],
)
async def test_other_writes_are_not_resent(
    fake: FakeKibana, kibana: KibanaClient, pattern: str, call: Callable, route: str | None
) -> None:
    fake.add_rule(id="r1")
    fake.fault("POST", pattern, status=502, times=1)

    with pytest.raises(KibanaUnavailable):
        await call(kibana)

    assert fake.count("POST", route or "/api/cases/{caseId}/comments") == 1


async def test_retry_after_is_honoured(fake: FakeKibana, kibana: KibanaClient) -> None:
    answered: list[tuple[int, float]] = []

    def record(exchange: Exchange) -> None:
        answered.append((exchange.status, time.monotonic()))

    fake.on_exchange = record
    fake.fault("GET", r"/api/alerting/_health", status=429, retry_after=1, times=1)

    health = await kibana.health()

    assert health.status == "ok"
    assert [status for status, _ in answered] == [429, 200]
    assert answered[1][1] - answered[0][1] >= 0.9  # waited for Retry-After (the backoff alone is ~1 ms)


async def test_retry_after_beyond_the_budget_gives_up(fake: FakeKibana, connect: Callable[..., KibanaClient]) -> None:
    client = connect(retry=quick_retry(timeout=5, retry_after_max=60))
    fake.fault("GET", r"/api/alerting/_health", status=429, retry_after=30)

    started = time.monotonic()
    with pytest.raises(KibanaRateLimited) as caught:
        await client.health()

    assert caught.value.retry_after == 30
    assert fake.count("GET", "/api/alerting/_health") == 1
    assert time.monotonic() - started < 3  # did not sleep 30 s


async def test_agent_configuration_with_overwrite_is_retried(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.fault("PUT", r"/api/apm/settings/agent-configuration", status=503, times=1)

    await kibana.put_agent_configuration("web", "prod", {"capture_body": "all"}, overwrite=True)

    assert fake.count("PUT", "/api/apm/settings/agent-configuration") == 2
    assert fake.agent_configurations[0]["settings"] == {"capture_body": "all"}
