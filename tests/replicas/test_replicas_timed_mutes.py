"""Timed mutes with real processes on PostgreSQL (issue 27): two replicas looking at the same moment
make one unmute and one reminder; a replica killed in the middle of a timed mute and a new one
started in its place unmutes once, at its end, on the real clock, and tells the thread."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver
from tests.databases import TEST_DATABASE_URL, postgres_schema

from .test_replicas_health_reports import KIBANA_KEY, POLICY, RUNNER, SECRET, Replica

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]

UNMUTE = "/api/alerting/rule/r1/alert/host-1/_unmute"


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_schema("timed_mutes") as url:
        yield url


async def start(env: dict[str, str], *extra: str) -> Replica:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(RUNNER), "--poll", "0.2", *extra, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    ready = await Replica._read(process)
    return Replica(process, ready["ready"], ready["replica"])


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[FakeSlack, FakeKibana, dict[str, str]]]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    async with FakeSlack() as slack, FakeKibana(api_keys=(KIBANA_KEY,), version="8.19.0") as kibana:
        slack.add_channel("C0ALERTS", "alerts")
        kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KIBANA_", "HEALTH_", "ALERT_"))}
        env.update(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            KIBANA_URL=kibana.url,
            KIBANA_API_KEY=KIBANA_KEY,
            DATABASE_URL=database_url,
            ACCESS_POLICY=str(policy),
            LOG_LEVEL="WARNING",
        )
        yield slack, kibana, env


async def mute(slack: FakeSlack, replica: Replica, text: str) -> str:
    driver = SlackDriver(signing_secret=SECRET, events_url=f"{replica.url}/slack/events", fake_slack=slack)
    before = len(slack.responses)
    assert (await driver.post(driver.slash_command(text))).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before, timeout=15)
    said = str(slack.responses[before].body["text"])
    assert said.startswith("<@U0ALICE> muted alert `host-1` of rule `r1` until "), said
    return said


def posted(slack: FakeSlack, start: str) -> list[str]:
    return [c.params["text"] for c in slack.calls_to("chat.postMessage") if c.params["text"].startswith(start)]


async def test_two_replicas_make_one_reminder_and_one_unmute(
    world: tuple[FakeSlack, FakeKibana, dict[str, str]],
) -> None:
    slack, kibana, env = world
    replicas = list(await asyncio.gather(start(env), start(env)))
    try:
        end = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
        await mute(slack, replicas[0], f"mute r1 host-1 until {end.isoformat()}")
        assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == 1
        for at in (end - timedelta(minutes=15), end - timedelta(minutes=14), end + timedelta(seconds=1)):
            # both replicas look at the same instant, at the same time: one claims each thing
            await asyncio.gather(*(r.ask(op="mutes_tick", at=at.isoformat()) for r in replicas))
        assert len(posted(slack, "<@U0ALICE> The mute of `host-1` ends in 15 min")) == 1
        assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute") == 1
        assert posted(slack, ":bell:") == [":bell: The mute of `host-1` ended; the alert is unmuted."]
        assert kibana.rule("r1")["muted_alert_ids"] == []
        for at in (end + timedelta(minutes=1), end + timedelta(minutes=5)):  # and never again
            await asyncio.gather(*(r.ask(op="mutes_tick", at=at.isoformat()) for r in replicas))
        assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute") == 1
        assert len(posted(slack, ":bell:")) == 1
    finally:
        await asyncio.gather(*(r.stop() for r in replicas))


async def test_a_replica_killed_in_the_middle_of_a_timed_mute_is_replaced_and_the_mute_ends_once(
    world: tuple[FakeSlack, FakeKibana, dict[str, str]],
) -> None:
    slack, kibana, env = world
    first = await start(env, "--mutes", "0.2")
    end = datetime.now(UTC) + timedelta(seconds=6)
    await mute(slack, first, f"mute r1 host-1 until {end.isoformat(timespec='seconds')}")
    first.process.send_signal(signal.SIGKILL)  # a crash: nothing is closed, nothing is handed over
    assert await asyncio.wait_for(first.process.wait(), 10) == -signal.SIGKILL
    assert kibana.rule("r1")["muted_alert_ids"] == ["host-1"]
    second = await start(env, "--mutes", "0.2")  # a new process, the same database
    try:
        await slack.wait_for(lambda: posted(slack, ":bell:"), timeout=20)
        assert datetime.now(UTC) >= end.replace(microsecond=0)  # not before its end
        assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute") == 1
        assert posted(slack, ":bell:") == [":bell: The mute of `host-1` ended; the alert is unmuted."]
        assert kibana.rule("r1")["muted_alert_ids"] == []
        await asyncio.sleep(1.0)  # its loop keeps looking: nothing more
        assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute") == 1
        assert len(posted(slack, ":bell:")) == 1
    finally:
        await second.stop()
