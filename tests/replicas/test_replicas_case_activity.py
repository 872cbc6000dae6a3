"""Two bot replicas — real OS processes — sharing one PostgreSQL database bring a linked case's Kibana
activity into its Slack thread: read at the same moment by both, every Kibana-side action is posted
exactly once (issue 28: a lease per linked case, a claim per user action)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver
from tests.databases import TEST_DATABASE_URL, postgres_schema

from .test_replicas_health_reports import KIBANA_KEY, POLICY, SECRET, Replica

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]

CHANNEL = "C0ALERTS"
CAROL = ("carol", "carol-password")


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_schema("replicas") as url:
        yield url


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[FakeSlack, FakeKibana, list[Replica]]]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    async with FakeSlack() as slack, FakeKibana(api_keys=(KIBANA_KEY,)) as kibana:
        slack.add_channel(CHANNEL, "alerts")
        kibana.users[CAROL[0]] = CAROL[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KIBANA_", "HEALTH_", "ALERT_"))}
        env.update(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            KIBANA_URL=kibana.url,
            KIBANA_API_KEY=KIBANA_KEY,
            DATABASE_URL=database_url,
            ACCESS_POLICY=str(policy),
            CASE_SYNC_INTERVAL="3600",  # the test asks for the rounds itself
            LOG_LEVEL="WARNING",
        )
        replicas: list[Replica] = []
        try:
            replicas = list(await asyncio.gather(Replica.start(env), Replica.start(env)))
            yield slack, kibana, replicas
        finally:
            await asyncio.gather(*(r.stop() for r in replicas))


async def in_kibana(kibana: FakeKibana, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.request(method, kibana.url + path, json=body, auth=CAROL, headers={"kbn-xsrf": "true"})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def change(kibana: FakeKibana, case_id: str, **fields: Any) -> None:
    version = (await in_kibana(kibana, "GET", f"/api/cases/{case_id}"))["version"]
    await in_kibana(kibana, "PATCH", "/api/cases", {"cases": [{"id": case_id, "version": version, **fields}]})


async def test_each_kibana_side_action_is_posted_once_across_two_processes(
    world: tuple[FakeSlack, FakeKibana, list[Replica]],
) -> None:
    slack, kibana, replicas = world
    first, second = replicas
    assert first.replica != second.replica
    # a case opened from a message, through the first replica: its card goes into the message's thread
    driver = SlackDriver(signing_secret=SECRET, events_url=f"{first.url}/slack/events", fake_slack=slack)
    message = slack.post_as_user(CHANNEL, "Checkout is slow", user="U0BOB")
    assert (await driver.post(driver.message_shortcut("open_case", message))).status_code == 200
    [call] = await slack.wait_for("views.update", timeout=10)
    assert (await driver.post(driver.view_submission(slack.views[call.params["view_id"]], {}))).status_code == 200
    await slack.wait_for(lambda: any("case_card" in str(m.get("blocks")) for m in slack.thread(CHANNEL, message["ts"])))
    [(_, case_id)] = list(kibana.state.cases)

    def kibana_lines() -> list[str]:
        return [str(m["text"]) for m in slack.thread(CHANNEL, message["ts"]) if "in Kibana" in str(m.get("text"))]

    rounds = [
        [("comment", "Failing over the primary")],
        [("status", "in-progress"), ("severity", "high")],
        [("comment", "Failover done"), ("status", "closed")],
    ]
    posted: list[int] = []
    for actions in rounds:
        for kind, value in actions:
            if kind == "comment":
                await in_kibana(kibana, "POST", f"/api/cases/{case_id}/comments",
                                {"type": "user", "owner": "cases", "comment": value})  # fmt: skip
            else:
                await change(kibana, case_id, **{kind: value})
        for _ in range(3):  # both replicas read at the same moment, three times over
            answers = await asyncio.gather(*(r.ask(op="case_activity") for r in replicas))
            posted.append(sum(a["posted"] for a in answers))

    lines = kibana_lines()
    assert len(lines) == 5, lines  # five Kibana-side actions, each posted once
    assert sum(posted) == 5
    assert len(set(lines)) == 5
    assert sum("Failing over the primary" in line for line in lines) == 1
    assert sum("closed the case" in line for line in lines) == 1
    assert all(call.ok for call in slack.calls_to("chat.postMessage"))
