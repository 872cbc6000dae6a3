"""Opening, readiness and table creation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.database import make_engine

from .conftest import OpenStore


async def test_ping_answers_when_the_database_does(store: Store) -> None:
    assert await store.ping() is True


async def test_ping_is_false_when_the_database_is_unreachable(tmp_path: Path) -> None:
    unreachable = [
        f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
        "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
    ]
    for url in unreachable:
        store = Store(make_engine(url))
        try:
            assert await store.ping() is False
        finally:
            await store.close()


async def test_open_twice_keeps_the_data(open_store: OpenStore) -> None:
    first = await open_store()
    assert await first.claim_key("webhook", "k")
    second = await open_store()
    await second.upgrade_schema()
    assert await second.claim_key("webhook", "k") is False


async def test_replicas_starting_together_create_the_tables_once(open_store: OpenStore) -> None:
    stores = await asyncio.gather(*(open_store() for _ in range(5)))
    assert all([await s.ping() for s in stores])
    assert await stores[0].subscriptions_version() == "0"


async def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    from sqlalchemy import text

    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with store._read() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 1000
    finally:
        await store.close()


def test_unsupported_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        make_engine("mysql+aiomysql://u@h/db")
