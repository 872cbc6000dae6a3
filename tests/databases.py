"""The test databases: a SQLite file, and a PostgreSQL schema of its own when TEST_DATABASE_URL is set.

`BACKENDS` parametrizes a fixture over both (the PostgreSQL run is marked `postgres` and skips without
TEST_DATABASE_URL); `postgres_schema(prefix)` gives one test a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
        ],
    ),
]


@asynccontextmanager
async def postgres_schema(prefix: str) -> AsyncIterator[str]:
    """DATABASE_URL of a fresh schema on TEST_DATABASE_URL (its search_path), dropped on leaving."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(TEST_DATABASE_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
