"""The engine behind the store: opening it, transactions, and the SQL both backends share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, event, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.failure_log import FailureLog
from bot.store import schema_version
from bot.store.errors import SubscriptionLimitReached
from bot.store.schema import postgresql_forms, versions

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

    from bot.store.migrate import SchemaUpgrade

log = logging.getLogger(__name__)
_failures = FailureLog(log)  # readiness probes ping often: a down database is logged once a minute

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Any constant works: it only has to be the same for every replica upgrading the schema. It is
# the one the releases before versioning took around create_all, so during a rolling upgrade
# their replicas and ours take turns too.
_SCHEMA_LOCK = 0x6B63_6F70  # "kcop"
_WRITE = "kibana_chatops_write"
# Connections a replica keeps to PostgreSQL: at most POOL_SIZE, opened as needed and then kept, so a
# replica never holds more than 15; a burst beyond waits for one (SQLAlchemy's pool timeout, 30 s) instead
# of taking PostgreSQL's last connections (its default max_connections is 100: docs/settings.md, "Running
# several replicas"). None are "overflow" connections: SQLAlchemy closes those as soon as they are given
# back, so under a storm's steady load (5 kept + 10 overflow, before) the replica opened and closed a
# connection — a new PostgreSQL backend process — for most reads (6% of the survivor's CPU in storm_kill,
# py-spy, and more on PostgreSQL's side).
POOL_SIZE = 15
POOL_OVERFLOW = 0
# Write transactions one process runs at once on PostgreSQL: within the pool's 15 connections, the rest
# for reads (see Database.__init__).
POSTGRESQL_WRITERS = 8


def make_engine(url: str) -> AsyncEngine:
    """An async engine for `sqlite+aiosqlite://…` or `postgresql+psycopg://…`."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+psycopg"):
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")
    if parsed.drivername == "sqlite+aiosqlite":
        engine = create_async_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _tune_sqlite(engine)
    else:
        postgresql_forms()
        engine = create_async_engine(parsed, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, and real transactions (BEGIN IMMEDIATE for writes).

    The sqlite3 module's implicit BEGIN is turned off so that SQLAlchemy's own
    transaction boundaries hold; write transactions take the write lock up front, so
    concurrent writers wait on the busy timeout instead of failing on a lock upgrade.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL once per database file. Changing the journal mode does not wait on the
    busy timeout, so replicas opening a new file together retry a few times (bounded)."""
    import sqlite3
    import time

    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)


def _upgrade(connection: Connection) -> SchemaUpgrade | None:
    from bot.store import migrate  # Alembic, loaded only when the schema is not simply current

    return migrate.upgrade(connection)


async def check_caps(
    conn: AsyncConnection, table: Table, channel: str, per_channel: int | None, in_all: int | None
) -> None:
    """Raise SubscriptionLimitReached when `table` (of subscriptions, with a `channel` column) has
    `per_channel` rows for `channel` or `in_all` rows in all (None: no cap). Call it after
    `Database._one_at_a_time`, in the transaction that adds the row."""
    count = func.count()
    if per_channel is not None:
        here = (await conn.execute(select(count).select_from(table).where(table.c.channel == channel))).scalar_one()
        if here >= per_channel:
            raise SubscriptionLimitReached("channel", here, per_channel)
    if in_all is not None:
        everywhere = (await conn.execute(select(count).select_from(table))).scalar_one()
        if everywhere >= in_all:
            raise SubscriptionLimitReached("workspace", everywhere, in_all)


class Database:
    """The engine and the helpers every part of the store uses."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite has one writer at a time. Queueing this process's writers here, instead of on
        # SQLite's busy handler (which polls with sleeps of up to 100 ms while each waiter holds a
        # pooled connection), keeps writes flowing under load: without it, a burst of a few
        # hundred audit entries ran into "database is locked" and pool timeouts. Other processes
        # on the same file still wait on the busy timeout.
        # PostgreSQL takes many writers at once, but each holds one of the pool's connections (15 at
        # most) for its transaction: a storm of webhook deliveries took them all, reads (the publisher,
        # the deliveries waiting for Slack) then waited out the pool's 30 s timeout, and failed. So this
        # process's writers queue here too, leaving the rest of the pool to reads.
        self._write_turn: asyncio.Lock | asyncio.Semaphore | None = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else asyncio.Semaphore(POSTGRESQL_WRITERS)
        )

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on success, rolled back on error."""
        async with contextlib.AsyncExitStack() as turn:
            if self._write_turn is not None:
                await turn.enter_async_context(self._write_turn)
            async with self._engine.connect() as conn:
                # preserve_rowcount: psycopg forgets an INSERT's rowcount once the cursor closes.
                await conn.execution_options(preserve_rowcount=True, **{_WRITE: True})
                async with conn.begin():
                    yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            yield conn

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """A dialect-specific INSERT, which knows ON CONFLICT DO NOTHING / DO UPDATE."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql  # only PostgreSQL stores load its dialect

            return postgresql.insert(table)
        return sqlite.insert(table)

    async def _one_at_a_time(self, conn: AsyncConnection, lock: int) -> None:
        """Make the rest of this write transaction run one at a time for `lock` (count-then-insert
        caps): on PostgreSQL a transaction-scoped advisory lock, on SQLite the write transaction
        itself (BEGIN IMMEDIATE holds the database's write lock from its start)."""
        if self.dialect == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})

    async def _bump_version(self, conn: AsyncConnection, name: str) -> None:
        await conn.execute(versions.update().where(versions.c.name == name).values(value=versions.c.value + 1))

    async def upgrade_schema(self) -> SchemaUpgrade | None:
        """Bring the schema to the newest revision; safe when several replicas start at once.

        Raises StoreSchemaTooNew when a newer kibana-chatops has already upgraded the database,
        StoreSchemaMismatch for unversioned tables that are not those of an earlier release.
        """
        async with self._write() as conn:
            # One replica at a time: on SQLite the write transaction (BEGIN IMMEDIATE) holds the
            # database's write lock, on PostgreSQL this lock does, until the transaction ends.
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            change = None if await conn.run_sync(schema_version.is_current) else await conn.run_sync(_upgrade)
            await conn.execute(self._insert(versions).values(name="subscriptions", value=0).on_conflict_do_nothing())
        if change is not None:
            adopted = " (adopted the unversioned tables at the baseline)" if change.adopted else ""
            log.info("database schema upgraded from %s to %s%s", change.before or "nothing", change.after, adopted)
        return change

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self._read() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as error:
            _failures.failed("ping", "the database did not answer", error=error, level=logging.WARNING)
            return False
        _failures.recovered("ping", "the database answers again")
        return True

    async def close(self) -> None:
        await self._engine.dispose()
