"""Two bot replicas — real OS processes — on one PostgreSQL database (issue 27): two people pressing *I'm on
it* at once, each through another replica, make one claim (the other is told who has it); an unclaimed
alert delivered to both replicas gets one claim reminder, not one per replica."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import run_action
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver

from .test_replicas_health_reports import KIBANA_KEY, POLICY, SECRET, TEST_DATABASE_URL, Replica, database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]
__all__ = ["database_url"]

TOKEN = "replicas-webhook-token"
ONCALL = "S0ONCALL1"
BODY = {
    "rule_id": "r1",
    "rule_name": "Rule r1",
    "space_id": "default",
    "alert_id": "host-1",
    "alert_uuid": "uuid-host-1",
    "action_group": "threshold met",
    "reason": "host 1",
    "date": "2026-12-02T10:00:00Z",  # long ago: a reminder is due at once
}


@contextlib.asynccontextmanager
async def two_replicas(
    tmp_path: Path, database_url: str, **extra: str
) -> AsyncIterator[tuple[FakeSlack, list[Replica]]]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    async with FakeSlack() as slack, FakeKibana(api_keys=(KIBANA_KEY,)) as kibana:
        kibana.add_rule(id="r1", name="Rule r1", active_alerts=["host-1"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KIBANA_", "HEALTH_", "ALERT_"))}
        env.update(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            KIBANA_URL=kibana.url,
            KIBANA_API_KEY=KIBANA_KEY,
            DATABASE_URL=database_url,
            ACCESS_POLICY=str(policy),
            ALERT_WEBHOOK_TOKEN=TOKEN,
            ALERT_CHANNEL="C0ALERTS",
            ALERT_UPDATE_INTERVAL="0.5",
            LOG_LEVEL="WARNING",
            **extra,
        )
        running: list[Replica] = []
        try:
            running = list(await asyncio.gather(Replica.start(env), Replica.start(env)))
            yield slack, running
        finally:
            await asyncio.gather(*(r.stop() for r in running))


async def deliver_to_both(replicas: list[Replica]) -> None:
    content, seen = json.dumps(BODY).encode(), list[int]()
    async with httpx.AsyncClient(timeout=15) as client:  # each run again as Kibana runs it (429: at Retry-After)
        results = await asyncio.gather(
            *(run_action(client, f"{r.url}/kibana/alerts", TOKEN, content, attempts=5, seen=seen) for r in replicas)
        )
    assert {result.status for result, _ in results} == {"ok"} and set(seen) <= {200, 202, 429}


def top_level(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.channel_messages("C0ALERTS") if m.get("thread_ts") in (None, m["ts"])]


def thread(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    return [m["text"] for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]


async def test_two_people_pressing_im_on_it_through_two_replicas_make_one_claim(
    tmp_path: Path, database_url: str
) -> None:
    async with two_replicas(tmp_path, database_url) as (slack, (one, two)):
        await deliver_to_both([one, two])
        [message] = await slack.wait_for(lambda: top_level(slack) or None)
        value = next(
            e["value"] for b in message["blocks"] for e in b.get("elements", []) if e.get("action_id") == "alert_claim"
        )
        alice = SlackDriver(signing_secret=SECRET, events_url=f"{one.url}/slack/events", fake_slack=slack)
        bob = SlackDriver(signing_secret=SECRET, events_url=f"{two.url}/slack/events", fake_slack=slack)
        answers = await asyncio.gather(
            alice.post(alice.block_action("alert_claim", value, message=message, user_id="U0ALICE")),
            bob.post(bob.block_action("alert_claim", value, message=message, user_id="U0BOB0001")),
        )
        assert [a.status_code for a in answers] == [200, 200]
        await slack.wait_for(lambda: len(thread(slack, message)) >= 1 and len(slack.responses) >= 1, timeout=20)
        await asyncio.sleep(1)
        [receipt] = thread(slack, message)  # one claim, told once
        winner = "U0ALICE" if receipt.startswith("<@U0ALICE>") else "U0BOB0001"
        assert receipt == f"<@{winner}> is on alert `host-1` of rule `r1`."
        [told] = [r.body["text"] for r in slack.responses]
        assert told.startswith(f"<@{winner}> is on alert `host-1` of rule `r1` since")  # the other one
        assert "(they pressed first)" in told


async def test_an_unclaimed_alert_delivered_to_two_replicas_gets_one_reminder(
    tmp_path: Path, database_url: str
) -> None:
    async with two_replicas(tmp_path, database_url, ALERT_CLAIM_REMINDER="1s", ALERT_ONCALL=ONCALL) as (slack, both):
        await deliver_to_both(both)
        [message] = await slack.wait_for(lambda: top_level(slack) or None)

        def reminded() -> list[str]:
            return [t for t in thread(slack, message) if t.startswith(f"<!subteam^{ONCALL}>")]

        await slack.wait_for(lambda: reminded() or None, timeout=20)
        await asyncio.sleep(4)  # four more sweeps of each replica
        assert len(reminded()) == 1
