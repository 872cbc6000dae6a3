"""Bot replicas (real OS processes) on one PostgreSQL schema behind one webhook, for the crash and restart
tests: start, kill (SIGKILL) and start again, deliver alerts as Kibana's Webhook connector behind a load
balancer does, and read back what Slack shows."""

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
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack

from .test_replicas_health_reports import KIBANA_KEY, POLICY, SECRET, Replica

TOKEN = "replicas-webhook-token"
CHANNEL = "C0ALERTS"


class Cluster:
    """The fakes, the replicas' environment, and the replicas running now."""

    def __init__(self, slack: FakeSlack, env: dict[str, str], database_url: str) -> None:
        self.slack = slack
        self.env = env
        self.database_url = database_url
        self.replicas: list[Replica] = []
        self._turn = 0

    async def start(self, count: int = 1) -> list[Replica]:
        started = [await Replica.start(self.env) for _ in range(count)]  # one after the other: one migrates
        self.replicas += started
        return started

    async def kill(self, replica: Replica) -> None:
        """SIGKILL: no shutdown, no lease given back, nothing flushed."""
        replica.process.kill()
        await replica.process.wait()
        self.replicas.remove(replica)

    async def stop(self, replica: Replica) -> None:
        """A clean stop, as `serve` stops on SIGTERM."""
        await replica.stop()
        self.replicas.remove(replica)

    async def lease_owners(self) -> set[str]:
        """Which replicas hold an alert group now (the store's leases)."""
        engine = create_async_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT lease_owner FROM alert_groups WHERE lease_owner IS NOT NULL"))
                return {str(r[0]) for r in rows}
        finally:
            await engine.dispose()

    async def deliver(self, client: httpx.AsyncClient, body: dict[str, Any], *, attempts: int = 30) -> int:
        """One delivery as Kibana's connector makes it behind a load balancer: to the running replicas in
        turn; no answer or 5xx is retried (here every 0.5 s, bounded), a 429 at its Retry-After (a replica
        behind on its records books it), any other status is final. The last status."""
        status = 0
        for _ in range(attempts):
            pause = 0.5
            running = list(self.replicas)
            if running:
                replica = running[self._turn % len(running)]
                self._turn += 1
                try:
                    response = await client.post(
                        f"{replica.url}/kibana/alerts", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
                    )
                    status = response.status_code
                    if status < 500 and status != 429:
                        return status
                    pause = float(response.headers.get("retry-after", pause))
                except httpx.TransportError:
                    status = 0
            await asyncio.sleep(pause)
        return status


@pytest.fixture
async def cluster(tmp_path: Path, database_url: str) -> AsyncIterator[Cluster]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    # Slack's limits on: a storm's posts wait their turn, so a replica dies with work in hand
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
            ALERT_CHANNEL=CHANNEL,
            ALERT_UPDATE_INTERVAL="0.5",
            LOG_LEVEL="WARNING",
        )
        cluster = Cluster(slack, env, database_url)
        try:
            yield cluster
        finally:
            await asyncio.gather(*(r.stop() for r in cluster.replicas))


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


def top_level(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.channel_messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]


def shown(slack: FakeSlack) -> dict[str, list[tuple[int, int, bool]]]:
    """Per rule, each of its top-level messages: (firing, recovered, says "Recovered")."""
    found: dict[str, list[tuple[int, int, bool]]] = {}
    for message in top_level(slack):
        blocks = json.dumps(message.get("blocks", []))
        rule = re.search(r"Rule (r\d+)", blocks)
        assert rule, blocks
        firing = re.search(r"\*Firing\*\\n(\d+)", blocks)
        recovered = re.search(r"\*Recovered\*\\n(\d+)", blocks)
        if firing and recovered:
            counts = (int(firing.group(1)), int(recovered.group(1)))
        else:  # one alert's own message
            counts = (0, 1) if str(message.get("text", "")).startswith("Recovered") else (1, 0)
        said = str(message.get("text", "")).startswith("Recovered")
        found.setdefault(rule.group(1), []).append((*counts, said))
    return found
