"""Slack's rate-limit buckets shared by the replicas in PostgreSQL (bot/store/slack_budgets.py): taking a
token is atomic however many replicas take at once, background takers leave the reserve to people, and
a Retry-After one replica is given closes the bucket for all, timed by the database's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.store import Store
from tests.databases import TEST_DATABASE_URL, postgres_schema

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]

SLOW = 0.001  # tokens a second: nothing refills during a test


@pytest.fixture
async def replicas() -> AsyncIterator[list[Store]]:
    """Four stores on one PostgreSQL schema, each with its own engine and pool: four replicas."""
    async with postgres_schema("budgets") as url:
        stores = [await Store.open(url) for _ in range(4)]
        try:
            yield stores
        finally:
            for store in stores:
                await store.close()


async def test_concurrent_takers_on_every_replica_never_take_more_than_the_burst(replicas: list[Store]) -> None:
    async def take(store: Store) -> bool:
        state = await store.take_slack_token("chat.update", burst=12, per_second=SLOW, reserve=0)
        return state.taken

    # 4 replicas x 40 callers at once, for a new bucket (made by whichever comes first)
    taken = await asyncio.gather(*(take(store) for store in replicas for _ in range(40)))
    assert sum(taken) == 12
    left = await replicas[0].take_slack_token("chat.update", burst=12, per_second=SLOW, reserve=0)
    assert not left.taken
    assert 0 <= left.tokens < 1
    assert left.closed_for == 0


async def test_background_takers_leave_the_reserve_to_people(replicas: list[Store]) -> None:
    first, second = replicas[:2]
    background = [await first.take_slack_token("chat.update", burst=10, per_second=SLOW, reserve=2) for _ in range(12)]
    assert [s.taken for s in background] == [True] * 8 + [False] * 4
    # another replica's person still finds a token, twice; then the bucket is empty for everyone
    person = [await second.take_slack_token("chat.update", burst=10, per_second=SLOW, reserve=0) for _ in range(3)]
    assert [s.taken for s in person] == [True, True, False]


async def test_a_retry_after_closes_the_bucket_for_every_replica(replicas: list[Store]) -> None:
    told, other = replicas[:2]
    assert (await other.take_slack_token("views.open", burst=5, per_second=100.0, reserve=0)).taken
    closed_for = await told.close_slack_budget("views.open", 30, burst=5, per_second=100.0)
    assert 29 < closed_for <= 30
    refused = await other.take_slack_token("views.open", burst=5, per_second=100.0, reserve=0)
    assert not refused.taken
    assert 29 < refused.closed_for <= 30
    # a shorter Retry-After given later does not open it earlier
    assert 29 < await other.close_slack_budget("views.open", 2, burst=5, per_second=100.0) <= 30
    # other buckets are not held back
    assert (await other.take_slack_token("chat.update", burst=5, per_second=100.0, reserve=0)).taken


async def test_a_retry_after_for_a_bucket_never_used_closes_it_too(replicas: list[Store]) -> None:
    assert 9 < await replicas[0].close_slack_budget("chat.postMessage C1", 10, burst=2, per_second=1.0) <= 10
    refused = await replicas[1].take_slack_token("chat.postMessage C1", burst=2, per_second=1.0, reserve=0)
    assert not refused.taken and 9 < refused.closed_for <= 10
