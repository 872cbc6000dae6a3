"""Hardening over real HTTP: Slack signatures (edge cases), body limits on both routes, Slack
event retries de-duplicated, JSON log lines with request ids, and /metrics after traffic."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.logs import RedactingFormatter
from bot.server import SLACK_BODY_LIMIT
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from devkit.slack_driver.signing import sign
from devkit.slack_driver.transport import body_for
from handlers.alerts.webhook import BODY_LIMIT as WEBHOOK_LIMIT

from .conftest import SIGNING_SECRET, WEBHOOK_TOKEN

FORM = "application/x-www-form-urlencoded"

KIBANA_LOG = "bot.kibana.connection"  # one debug line per exchange with Kibana


def nothing_done(kibana: FakeKibana, slack: FakeSlack) -> None:
    assert kibana.requests == []
    assert slack.responses == [] and slack.calls == []


async def post_raw(url: str, body: bytes | AsyncIterator[bytes], headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=body, headers=headers)


# ---- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("no timestamp", {"drop": "X-Slack-Request-Timestamp"}),
        ("no signature", {"drop": "X-Slack-Signature"}),
        ("no headers at all", {"drop": "both"}),
        ("wrong version prefix", {"prefix": "v1="}),
        ("old timestamp", {"age": 310}),  # 10 s of slack for a loaded machine
        ("future timestamp", {"age": -310}),
        ("far future timestamp", {"age": -86_400 * 365}),
        ("malformed timestamp", {"timestamp": "12ab"}),
        ("another secret", {"secret": "not-the-signing-secret"}),
        ("body altered after signing", {"alter": True}),
    ],
)
async def test_badly_signed_requests_get_401_and_do_nothing(
    case: str, change: dict[str, Any], driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    body = body_for(driver.slash_command("mute r1 host-1"), "command")
    now = int(time.time())
    headers = {"Content-Type": FORM} | sign(change.get("secret", SIGNING_SECRET), body, now - change.get("age", 0))
    if "timestamp" in change:
        headers["X-Slack-Request-Timestamp"] = change["timestamp"]
    if "prefix" in change:
        headers["X-Slack-Signature"] = change["prefix"] + headers["X-Slack-Signature"].removeprefix("v0=")
    if change.get("drop") in ("X-Slack-Request-Timestamp", "both"):
        del headers["X-Slack-Request-Timestamp"]
    if change.get("drop") in ("X-Slack-Signature", "both"):
        del headers["X-Slack-Signature"]
    if change.get("alter"):
        body = body.replace("text=mute", "text=unmute")
    response = await post_raw(bot.events_url, body.encode(), headers)
    assert response.status_code == 401, case
    assert response.json() == {"error": "invalid request"}
    await asyncio.sleep(0.1)  # give a (wrongly) started listener the time to show itself
    nothing_done(kibana, slack)


@pytest.mark.parametrize("age", [0, 290, -290])
async def test_signatures_within_five_minutes_either_way_are_accepted(
    age: int, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    response = await driver.post(driver.slash_command("mute r1 host-1"), timestamp=int(time.time()) - age)
    assert response.status_code == 200
    await slack.wait_for(lambda: kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == 1)


# ---- body limits -----------------------------------------------------------------------------------


async def chunks(total: int) -> AsyncIterator[bytes]:
    """A body sent with Transfer-Encoding: chunked (no Content-Length)."""
    piece = b"a" * 65_536
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)


@pytest.mark.parametrize("with_length", [True, False])
async def test_oversized_slack_bodies_get_413(
    with_length: bool, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    big = b"text=" + b"a" * SLACK_BODY_LIMIT
    headers = {"Content-Type": FORM} | sign(SIGNING_SECRET, big)
    body: bytes | AsyncIterator[bytes] = big if with_length else chunks(len(big))
    response = await post_raw(bot.events_url, body, headers)
    assert response.status_code == 413
    assert (
        "content-length" in response.request.headers if with_length else "transfer-encoding" in response.request.headers
    )
    nothing_done(kibana, slack)


@pytest.mark.parametrize("with_length", [True, False])
async def test_oversized_webhook_bodies_get_413(
    with_length: bool, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    big = b'{"reason":"' + b"a" * WEBHOOK_LIMIT + b'"}'
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    response = await post_raw(f"{bot.url}/kibana/alerts", big if with_length else chunks(len(big)), headers)
    assert response.status_code == 413
    assert slack.calls == [] and kibana.requests == []


async def test_webhook_token_is_checked_before_the_body(bot: RunningBot, slack: FakeSlack) -> None:
    wrong = {"Authorization": f"Bearer {WEBHOOK_TOKEN[:-1]}x", "Content-Type": "application/json"}
    response = await post_raw(f"{bot.url}/kibana/alerts", chunks(WEBHOOK_LIMIT * 4), wrong)
    assert response.status_code == 401 and slack.calls == []


# ---- Slack event retries -----------------------------------------------------------------------------


def mention_counter(bot: RunningBot) -> list[str]:
    seen: list[str] = []

    @bot.runtime.app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> None:
        seen.append(body["event_id"])

    return seen


MENTION = {
    "type": "app_mention",
    "user": "U0ALICE",
    "text": "<@U0BOT> hi",
    "ts": "1700000000.000100",
    "channel": "C0ALERTS",
}


async def test_http_event_retries_are_handled_once(driver: SlackDriver, bot: RunningBot) -> None:
    seen = mention_counter(bot)
    event = driver.event_callback(MENTION, event_id="Ev0RETRY01")
    assert (await driver.post(event)).status_code == 200
    for attempt in (1, 2, 3):
        response = await driver.post(event, retry_num=attempt, retry_reason="http_timeout")
        assert response.status_code == 200
    other = driver.event_callback(MENTION, event_id="Ev0OTHER01")
    assert (await driver.post(other, retry_num=1)).status_code == 200  # a retry of an event never seen: handled
    for _ in range(100):
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert seen == ["Ev0RETRY01", "Ev0OTHER01"]


async def test_socket_mode_event_retries_are_handled_once(socket_driver: SlackDriver, socket_bot: RunningBot) -> None:
    seen = mention_counter(socket_bot)
    event = socket_driver.event_callback(MENTION, event_id="Ev0SOCKET1")
    await socket_driver.send_socket(event)
    await socket_driver.send_socket(event, retry_attempt=1, retry_reason="timeout")
    await asyncio.sleep(0.1)
    assert seen == ["Ev0SOCKET1"]


# ---- structured logs with request ids ------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter([SIGNING_SECRET], json_lines=True))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_json_log_lines_carry_one_request_id_per_request(
    json_log: io.StringIO, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    for count, text in enumerate(("health", "rules"), start=1):
        await driver.post(driver.slash_command(text))
        await slack.wait_for(lambda n=count: len(slack.responses) >= n)  # type: ignore[misc]
    bad = await post_raw(bot.events_url, b"x", {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"})
    assert bad.status_code == 401
    await post_raw(f"{bot.url}/kibana/alerts", b"{", {"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
    records = lines(json_log)
    assert records and all({"time", "level", "logger", "request_id", "message"} <= set(r) for r in records)
    kibana_calls = [r for r in records if r["logger"] == KIBANA_LOG and "/api/alerting/" in r["message"]]
    assert len(kibana_calls) == 2  # the listener's Kibana call, logged after the ack, in the request's context
    ids = {r["request_id"] for r in kibana_calls}
    assert len(ids) == 2 and "-" not in ids and all(len(i) == 8 for i in ids)
    for request in ids:
        bolt = [r for r in records if r["request_id"] == request and r["logger"].startswith("slack_bolt")]
        assert bolt, "Bolt's dispatch lines carry the same id as the listener's work"
    refused = [r for r in records if "refused a request to /slack/events" in r["message"]]
    webhook = [r for r in records if "alert webhook: bad delivery" in r["message"]]
    assert refused and webhook
    assert refused[0]["request_id"] not in ids | {"-"} and webhook[0]["request_id"] not in ids | {"-"}
    assert SIGNING_SECRET not in json_log.getvalue()


async def test_socket_mode_requests_get_request_ids_and_metrics(
    json_log: io.StringIO, socket_driver: SlackDriver, socket_bot: RunningBot, slack: FakeSlack, kibana: FakeKibana
) -> None:
    before = await metric_values(socket_bot)
    await socket_driver.send_socket(socket_driver.slash_command("health"))
    await slack.wait_for(lambda: slack.responses)
    await slack.wait_for(lambda: kibana.count("GET", "/api/alerting/_health") == 1)
    [call] = [r for r in lines(json_log) if r["logger"] == KIBANA_LOG and "_health" in r["message"]]
    assert call["request_id"] != "-"
    after = await metric_values(socket_bot)
    labels = {"mode": "socket", "kind": "slash_command"}
    assert value(after, "chatops_slack_requests_total", status="200", **labels) == (
        value(before, "chatops_slack_requests_total", status="200", **labels) + 1
    )
    assert value(after, "chatops_slack_ack_seconds_count", **labels) > value(
        before, "chatops_slack_ack_seconds_count", **labels
    )


# ---- metrics ---------------------------------------------------------------------------------------


async def metric_values(bot: RunningBot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{bot.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_slack_requests_kibana_calls_and_rejections(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    before = await metric_values(bot)
    for _ in range(2):
        await driver.post(driver.slash_command("health"))
    await slack.wait_for(lambda: len(slack.responses) >= 2)
    await post_raw(bot.events_url, b"x", {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"})
    after = await metric_values(bot)

    def grew(name: str, by: float, **labels: str) -> None:
        assert value(after, name, **labels) - value(before, name, **labels) == by, (name, labels)

    grew("chatops_slack_requests_total", 2, mode="http", kind="slash_command", status="200")
    grew("chatops_slack_ack_seconds_count", 2, mode="http", kind="slash_command")
    grew("chatops_kibana_calls_total", 2, method="GET", route="/api/alerting/_health", status="200")
    grew("chatops_kibana_call_seconds_count", 2, method="GET", route="/api/alerting/_health")
    grew("chatops_slack_rejected_total", 1, reason="stale_timestamp")
    families = {name for name, _ in after}
    assert {
        "chatops_slack_ack_seconds_bucket",
        "chatops_scheduled_runs_total",
        "chatops_alert_webhooks_total",
    } & families
