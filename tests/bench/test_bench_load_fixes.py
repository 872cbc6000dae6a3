"""The bot changes the benchmarks led to: bounded Kibana concurrency outside httpcore's pool,
in-process queueing of SQLite writers, and a tick's run claims in one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bot.kibana.client import KibanaClient
from bot.kibana.connection import MAX_CONNECTIONS
from bot.store import Store

FIRE = datetime(2026, 1, 5, 10, 5, tzinfo=UTC)


async def test_a_burst_of_kibana_calls_waits_for_a_connection_and_all_succeed() -> None:
    in_flight = peak = 0

    async def slow_kibana(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return httpx.Response(204)

    client = KibanaClient(base_url="http://kibana.test", api_key="k", transport=httpx.MockTransport(slow_kibana))
    async with client:
        await asyncio.gather(*(client.mute_alert("r", f"a{n}") for n in range(MAX_CONNECTIONS * 3)))
    assert peak == MAX_CONNECTIONS


async def test_hundreds_of_concurrent_sqlite_writes_all_land(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        won = await asyncio.gather(*(store.claim_key("bench", f"k{n}") for n in range(300)))
        assert all(won)
        assert not await store.claim_key("bench", "k7")
    finally:
        await store.close()


async def test_claim_runs_wins_each_run_once(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        assert await store.claim_run(3, FIRE, replica="other")
        assert await store.claim_runs([1, 2, 3, 4, 2], FIRE, replica="me") == {1, 2, 4}
        assert await store.claim_runs([1, 2, 3, 4], FIRE, replica="again") == set()
        assert await store.claim_runs([], FIRE, replica="me") == set()
        assert not await store.claim_run(1, FIRE, replica="other")
    finally:
        await store.close()
