"""Replicas killed and restarted in the middle of alert work — real OS processes on PostgreSQL, Slack's
limits on (issue 25, items 8 and 10):

- a replica killed (SIGKILL) after Slack took a group's message and before the store recorded its ts:
  the other replica takes the group over, finds the message (its metadata, in the channel's history)
  and updates it; nothing is lost, nothing posted twice;
- a replica killed in the middle of a storm: no rule gets two top-level messages, every alert counted;
- the bot stopped and started again while a recovery wave arrives: every message ends "Recovered".
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
import pytest

from devkit.fake_slack import FakeSlack

from .alert_cluster import Cluster, body, cluster, shown, top_level
from .test_replicas_health_reports import TEST_DATABASE_URL, database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]
__all__ = ["cluster", "database_url"]  # the fixtures

SETTLE = 90.0  # seconds, bounded: a dead replica's leases run out within 20 s


def hold_the_first_group_post(slack: FakeSlack) -> tuple[asyncio.Event, asyncio.Event]:
    """Slack takes the first alert-group message (it is in the channel) and holds its answer until
    released: (posted, release)."""
    posted, release = asyncio.Event(), asyncio.Event()
    post = slack.handlers["chat.postMessage"]

    async def held(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
        answer = await post(fake, params)
        if "metadata" in params and not posted.is_set():  # a group's message, not a line in its thread
            posted.set()
            await release.wait()
        return answer

    slack.handlers["chat.postMessage"] = held
    return posted, release


async def deliver_all(cluster: Cluster, client: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[int]:
    return list(await asyncio.gather(*(cluster.deliver(client, b) for b in bodies)))


async def test_a_replica_killed_between_slacks_answer_and_the_record_posts_nothing_twice(cluster: Cluster) -> None:
    slack = cluster.slack
    posted, release = hold_the_first_group_post(slack)
    await cluster.start(2)
    async with httpx.AsyncClient(timeout=30) as client:
        first = asyncio.create_task(deliver_all(cluster, client, [body("r1", n) for n in range(3)]))
        await asyncio.wait_for(posted.wait(), timeout=30)
        [message] = top_level(slack)  # Slack has it; the replica that posted it never hears back
        [owner] = await cluster.lease_owners()
        [holder] = [r for r in cluster.replicas if r.replica == owner]
        await cluster.kill(holder)
        release.set()
        assert set(await first) <= {200, 202}  # what reached the dead replica came again, to the other
        assert set(await deliver_all(cluster, client, [body("r1", n) for n in range(3, 8)])) <= {200, 202}
        await slack.wait_for(lambda: shown(slack) == {"r1": [(8, 0, False)]}, timeout=SETTLE)
        recoveries = [body("r1", n, recovered=True) for n in range(8)]
        assert set(await deliver_all(cluster, client, recoveries)) <= {200, 202}
        await slack.wait_for(lambda: shown(slack) == {"r1": [(0, 8, True)]}, timeout=SETTLE)
    assert [m["ts"] for m in top_level(slack)] == [message["ts"]]  # the updates landed on the held message
    assert [c.response["ok"] for c in slack.calls_to("conversations.history")] == [True]  # found by its metadata


async def test_a_replica_killed_in_the_middle_of_a_storm_leaves_one_message_per_rule(cluster: Cluster) -> None:
    slack = cluster.slack
    one, _ = await cluster.start(2)
    rules, alerts = [f"r{n}" for n in range(8)], range(15)
    storm = [body(rule, n) for n in alerts for rule in rules]  # the rules interleave
    async with httpx.AsyncClient(timeout=30) as client:

        async def spread(bodies: list[dict[str, Any]], seconds: float) -> list[int]:
            async def one_at(delay: float, b: dict[str, Any]) -> int:
                await asyncio.sleep(delay)
                status: int = await cluster.deliver(client, b)
                return status

            gap = seconds / len(bodies)
            return list(await asyncio.gather(*(one_at(n * gap, b) for n, b in enumerate(bodies))))

        firing = asyncio.create_task(spread(storm, 4.0))
        await asyncio.sleep(2.0)  # half-way through the storm, with groups being posted (Slack's limits)
        await cluster.kill(one)
        killed_at = time.monotonic()
        assert set(await firing) <= {200, 202}
        recoveries = [body(rule, n, recovered=True) for n in alerts for rule in rules]
        assert set(await spread(recoveries, 2.0)) <= {200, 202}
        final = {rule: [(0, len(alerts), True)] for rule in rules}
        await slack.wait_for(lambda: shown(slack) == final, timeout=SETTLE)
        settled = time.monotonic() - killed_at
    # reported, not asserted (no wall-clock assertions): docs/performance.md records it
    print(f"\nkilled in the storm: final state {settled:.1f} s after the kill", file=sys.stderr)
    assert len(top_level(slack)) == len(rules)  # whichever replica posted each, once


async def test_a_restart_in_the_middle_of_a_recovery_wave_loses_nothing(cluster: Cluster) -> None:
    slack = cluster.slack
    [bot] = await cluster.start(1)
    rules, alerts = [f"r{n}" for n in range(5)], range(10)
    async with httpx.AsyncClient(timeout=30) as client:
        assert set(await deliver_all(cluster, client, [body(r, n) for n in alerts for r in rules])) <= {200, 202}
        await slack.wait_for(lambda: shown(slack) == {r: [(len(alerts), 0, False)] for r in rules}, timeout=SETTLE)
        before = {m["ts"] for m in top_level(slack)}

        async def wave() -> list[int]:
            statuses = []
            for n in alerts:  # recoveries arrive over ~3 s, through the restart
                statuses += await deliver_all(cluster, client, [body(r, n, recovered=True) for r in rules])
                await asyncio.sleep(0.3)
            return statuses

        recovering = asyncio.create_task(wave())
        await asyncio.sleep(1.0)
        await cluster.stop(bot)  # stopped as `serve` stops, then started again on the same database
        await cluster.start(1)
        assert set(await recovering) <= {200, 202}  # what arrived while it was down came again
        await slack.wait_for(lambda: shown(slack) == {r: [(0, len(alerts), True)] for r in rules}, timeout=SETTLE)
    assert {m["ts"] for m in top_level(slack)} == before  # the same messages, updated: nothing posted twice
