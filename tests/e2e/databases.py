"""The bot's database for end-to-end tests that must hold on both backends: a SQLite file, and a
PostgreSQL schema of its own when TEST_DATABASE_URL is set (those runs are marked `postgres`).

    from .databases import database_url  # the fixture; a test module's `settings` fixture reads it
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import BACKENDS, postgres_schema


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """DATABASE_URL for one test: a temp SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    async with postgres_schema("e2e") as url:
        yield url
