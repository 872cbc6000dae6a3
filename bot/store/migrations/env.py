"""Alembic's environment for the store.

At start-up `bot.store.migrate` runs it on the store's own connection, inside a transaction the
store already holds (and that it commits); from the `alembic` command line (developers, see
alembic.ini) it opens the database named by `-x url=…` or alembic.ini's `sqlalchemy.url`.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from bot.store.schema import UtcDateTime, metadata

config = context.config


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Revisions stand alone: a UtcDateTime column is written as the type it stores."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_on(connection: Connection) -> None:
    # render_as_batch: autogenerate writes ALTERs as batch operations, which SQLite needs.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give a database: alembic -x url=sqlite+aiosqlite:///scratch.db …")
    return url


async def _run_online() -> None:
    from bot.store.database import make_engine

    engine = make_engine(_url())
    try:
        async with engine.connect() as conn:
            await conn.run_sync(run_on)
            await conn.commit()
    finally:
        await engine.dispose()


shared: Connection | None = config.attributes.get("connection")
if shared is not None:
    run_on(shared)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online())
