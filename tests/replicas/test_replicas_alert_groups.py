"""Two bot replicas — real OS processes — on one PostgreSQL database, behind one webhook URL: a storm
whose every delivery reaches both replicas (as Kibana's retries behind a load balancer do) gives one
message per rule, and every alert is counted exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import run_action
from devkit.fake_slack import FakeSlack

from .test_replicas_health_reports import KIBANA_KEY, POLICY, SECRET, TEST_DATABASE_URL, Replica, database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]
__all__ = ["database_url"]  # the fixture, shared with the health-report replicas test

TOKEN = "replicas-webhook-token"


@pytest.fixture
async def replicas(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[FakeSlack, list[Replica]]]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    # Slack's limits on. Each replica paces its own calls and waits out the Retry-After Slack sends it;
    # the limits are the app's, so one replica may call while the other was told to wait (the fake
    # counts those as early calls; docs/settings.md, several replicas): the storm still lands, counted once.
    async with FakeSlack(rate_limits=True) as slack, FakeKibana(api_keys=(KIBANA_KEY,)) as kibana:
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
        )
        running: list[Replica] = []
        try:
            running = list(await asyncio.gather(Replica.start(env), Replica.start(env)))
            yield slack, running
        finally:
            await asyncio.gather(*(r.stop() for r in running))


def body(rule: str, n: int, *, recovered: bool = False) -> dict[str, Any]:
    return {
        "rule_id": rule,
        "rule_name": f"Rule {rule}",
        "space_id": "default",
        "alert_id": f"{rule}-host-{n}",
        "alert_uuid": f"{rule}-uuid-{n}",
        "action_group": "recovered" if recovered else "threshold met",
        "state": "recovered" if recovered else "active",
        "reason": f"host {n}",
        "date": "2026-12-02T10:00:00Z",
    }


def shown(slack: FakeSlack) -> dict[str, tuple[int, int]]:
    """Each top-level message's rule and its (firing, recovered) counts (one alert alone: (1, 0))."""
    found: dict[str, tuple[int, int]] = {}
    for message in slack.channel_messages("C0ALERTS"):
        if message.get("thread_ts") not in (None, message["ts"]):
            continue
        text = json.dumps(message["blocks"])
        rule = re.search(r"Rule (r\d)", text)
        assert rule, text
        firing = re.search(r"\*Firing\*\\n(\d+)", text)
        recovered = re.search(r"\*Recovered\*\\n(\d+)", text)
        counted = (int(firing.group(1)), int(recovered.group(1))) if firing and recovered else (1, 0)
        assert rule.group(1) not in found, f"two messages for {rule.group(1)}"
        found[rule.group(1)] = counted
    return found


async def test_a_storm_through_two_replicas_counts_every_alert_once(replicas: tuple[FakeSlack, list[Replica]]) -> None:
    slack, (one, two) = replicas
    storm = [body(rule, n) for rule in ("r1", "r2", "r3") for n in range(30)]
    async with httpx.AsyncClient(timeout=15) as client:
        seen: list[int] = []

        async def both(delivery: dict[str, Any]) -> list[str]:
            """The delivery to both replicas at once, each run again as Kibana runs it (a 429 at Retry-After:
            a replica behind on its records books it): what Kibana recorded for each."""
            content = json.dumps(delivery).encode()
            results = await asyncio.gather(
                *(
                    run_action(client, f"{r.url}/kibana/alerts", TOKEN, content, attempts=5, seen=seen)
                    for r in (one, two)
                )
            )
            return [result.status for result, _ in results]

        outcomes = [o for pair in await asyncio.gather(*(both(d) for d in storm)) for o in pair]
        assert set(outcomes) == {"ok"} and set(seen) <= {200, 202, 429}  # booked at most, never failed
        expected = {"r1": (30, 0), "r2": (30, 0), "r3": (30, 0)}
        await slack.wait_for(lambda: shown(slack) == expected, timeout=60)

        recoveries = [body(rule, n, recovered=True) for rule in ("r1", "r2", "r3") for n in range(30)]
        assert {o for pair in await asyncio.gather(*(both(d) for d in recoveries)) for o in pair} == {"ok"}
        assert set(seen) <= {200, 202, 429}
        await slack.wait_for(lambda: shown(slack) == {"r1": (0, 30), "r2": (0, 30), "r3": (0, 30)}, timeout=60)
    top_level = [m for m in slack.channel_messages("C0ALERTS") if m.get("thread_ts") in (None, m["ts"])]
    assert len(top_level) == 3  # one message per rule, whichever replica posted it
