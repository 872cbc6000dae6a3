"""The bot changes the benchmarks led to: Kibana concurrency bounded by the client's connection
pool, in-process queueing of SQLite writers, and a tick's run claims in one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.kibana.client import KibanaClient
from bot.kibana.connection import MAX_CONNECTIONS
from bot.store import Store

FIRE = datetime(2026, 1, 5, 10, 5, tzinfo=UTC)


async def test_a_burst_of_kibana_calls_waits_for_a_connection_and_all_succeed() -> None:
    """Three times as many calls as connections, against a Kibana that holds every answer until
    told, over real HTTP: the calls queue in the client's pool (exactly MAX_CONNECTIONS reach
    Kibana at once), and once Kibana answers they all succeed."""
    in_flight = peak = answered = 0
    release = asyncio.Event()

    async def held_kibana(request: web.Request) -> web.Response:
        nonlocal in_flight, peak, answered
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        answered += 1
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/api/alerting/rule/{rule}/alert/{alert}/_mute", held_kibana)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with KibanaClient(base_url=f"http://127.0.0.1:{port}", api_key="k") as client:
            burst = asyncio.gather(*(client.mute_alert("r", f"a{n}") for n in range(MAX_CONNECTIONS * 3)))
            for _ in range(1000):  # bounded: until the pool is full
                if in_flight >= MAX_CONNECTIONS:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # room for any call that would overtake the pool
            assert in_flight == MAX_CONNECTIONS
            release.set()
            await burst
    finally:
        release.set()
        await runner.cleanup()
    assert answered == MAX_CONNECTIONS * 3
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
        assert await store.claim_runs([3], FIRE, replica="other") == {3}
        assert await store.claim_runs([1, 2, 3, 4, 2], FIRE, replica="me") == {1, 2, 4}
        assert await store.claim_runs([1, 2, 3, 4], FIRE, replica="again") == set()
        assert await store.claim_runs([], FIRE, replica="me") == set()
        assert await store.claim_runs([1], FIRE, replica="other") == set()
    finally:
        await store.close()
