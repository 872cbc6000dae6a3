"""Fixtures for the store tests: one `store` per backend (SQLite file, PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store
from tests.databases import BACKENDS, postgres_schema

OpenStore = Callable[[], Awaitable[Store]]


@pytest.fixture(params=BACKENDS)
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own for one test: a temp SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    async with postgres_schema("store_test") as url:
        yield url


@pytest.fixture
async def open_store(store_url: str) -> AsyncIterator[OpenStore]:
    """Opens more stores on the same database (each with its own engine: a replica)."""
    opened: list[Store] = []

    async def _open() -> Store:
        store = await Store.open(store_url)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()


@pytest.fixture
async def replicas(open_store: OpenStore, store: Store) -> list[Store]:
    """Twenty stores on one database, as if twenty replicas were running."""
    return [store] + [await open_store() for _ in range(19)]


class Clock:
    """A settable UTC clock for the store modules (claims that expire or go stale)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    for module in ("claims", "alerts", "cases", "subscriptions", "audit"):
        monkeypatch.setattr(f"bot.store.{module}.utcnow", fake)
    yield fake
