"""Two bot replicas — real OS processes — sharing one PostgreSQL database, polling one fake
Elasticsearch for the alert subscriptions: each space is searched by one replica per tick, and each
alert is posted once, even when the replicas tick at different instants and read the same alerts."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver

from .test_replicas_health_reports import KIBANA_KEY, POLICY, SECRET, TEST_DATABASE_URL, Replica, database_url

__all__ = ["database_url"]  # the fixture, shared with the health-report test

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]

World = tuple[FakeSlack, FakeKibana, FakeElasticsearch, list[Replica]]


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    async with FakeSlack() as slack, FakeKibana(api_keys=(KIBANA_KEY,)) as kibana, FakeElasticsearch() as es:
        slack.add_channel("C0OPS", "ops")
        kibana.add_rule(id="r1", name="CPU high", tags=["prod"])
        kibana.add_rule(id="r2", name="Errors", tags=["prod"], space="ops")
        prefixes = ("SLACK_", "KIBANA_", "HEALTH_", "ALERT_", "ALERTS_", "ELASTICSEARCH_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        env.update(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            KIBANA_URL=kibana.url,
            KIBANA_API_KEY=KIBANA_KEY,
            ELASTICSEARCH_URL=es.url,
            ELASTICSEARCH_API_KEY=es.api_key,
            ALERTS_SUBSCRIPTION_CHANNEL="C0ALERTS",  # declared in both replicas' settings: one subscription
            ALERTS_SUBSCRIPTION="--all",
            DATABASE_URL=database_url,
            ACCESS_POLICY=str(policy),
            LOG_LEVEL="WARNING",
        )
        replicas: list[Replica] = []
        try:
            replicas = list(await asyncio.gather(Replica.start(env), Replica.start(env)))
            yield slack, kibana, es, replicas
        finally:
            await asyncio.gather(*(r.stop() for r in replicas))


async def test_two_replicas_post_each_alert_once(world: World) -> None:
    slack, kibana, es, (first, second) = world
    driver = SlackDriver(signing_secret=SECRET, events_url=f"{second.url}/slack/events", fake_slack=slack)
    await driver.post(driver.slash_command("alerts subscribe --tag prod --space ops", channel_id="C0OPS"))
    await slack.wait_for(lambda: slack.responses, timeout=10)
    assert "subscribed this channel" in slack.responses[0].body["text"]

    start = datetime.now(UTC)
    polled_by: list[dict[str, str]] = []
    for round_ in range(4):
        es.fire(kibana, "r1", f"host-{round_}")
        es.fire(kibana, "r2", f"svc-{round_}", space="ops")
        if round_ == 2:
            es.resolve(kibana, "r1", "host-0")
        at = start + timedelta(seconds=10 * round_)
        answers = await asyncio.gather(*(r.ask(op="alerts_tick", at=at.isoformat()) for r in (first, second)))
        for space in ("default", "ops"):
            polled = [a["spaces"][space]["polled"] for a in answers]
            assert polled.count(True) == 1, f"{space} at {at}: {answers}"
        polled_by.append({s: r.replica for r, a in zip((first, second), answers, strict=True) for s in a["spaces"]})
    # Now the replicas tick at different instants (different tick slots), both reading the same alerts.
    es.fire(kibana, "r1", "host-late")
    es.fire(kibana, "r2", "svc-late", space="ops")
    late = start + timedelta(seconds=100)
    await asyncio.gather(
        first.ask(op="alerts_tick", at=late.isoformat()),
        second.ask(op="alerts_tick", at=(late + timedelta(seconds=5)).isoformat()),
    )

    # One message per rule and channel (the rule's alerts grouped), each alert counted once:
    def settled() -> bool:
        return all(
            any(text in str(m.get("text")) for m in slack.channel_messages(channel))
            for channel, text in (("C0ALERTS", "CPU high: 4 firing, 1 recovered"), ("C0OPS", "Errors: 5 firing"))
        )

    await slack.wait_for(settled, timeout=20)
    top = [c for c in slack.calls_to("chat.postMessage") if not c.params.get("thread_ts")]
    assert Counter(str(c.params["channel"]) for c in top if "subscribed" not in str(c.params.get("text"))) == {
        "C0ALERTS": 1,
        "C0OPS": 1,
    }
    assert all(call.ok for call in slack.calls_to("chat.postMessage"))
