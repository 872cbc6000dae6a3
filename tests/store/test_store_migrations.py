"""The versioned schema: new databases, databases of the previous release, newer ones, drift."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, DateTime, Executable, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import Store, StoreSchemaMismatch, StoreSchemaTooNew
from bot.store.database import make_engine
from bot.store.migrate import BASELINE, alembic_config, current_revisions
from bot.store.schema import metadata
from bot.store.schema_version import HEAD

from .conftest import OpenStore

FIXTURES = Path(__file__).parents[1] / "fixtures" / "store"
UPGRADED = "database schema upgraded"
AT = datetime(2025, 1, 1, 12, tzinfo=UTC)


def previous_release_ddl(dialect: str) -> list[str]:
    """The statements of the frozen snapshot (tests/fixtures/store/previous_release_*.sql)."""
    lines = (FIXTURES / f"previous_release_{dialect}.sql").read_text().splitlines()
    sql = "\n".join(line for line in lines if not line.startswith("--"))
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


async def revisions(url: str) -> tuple[str, ...]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(current_revisions)
    finally:
        await engine.dispose()


async def execute(url: str, *statements: str | Executable) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement) if isinstance(statement, str) else statement)
    finally:
        await engine.dispose()


def upgrades(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(UPGRADED)]


async def test_a_new_database_is_created_at_head_and_reopening_changes_nothing(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.database")
    store = await Store.open(store_url)
    try:
        assert upgrades(caplog) == [f"{UPGRADED} from nothing to {HEAD}"]
        assert await revisions(store_url) == (HEAD,)
        assert await store.claim_key("webhook", "k")
        assert await store.upgrade_schema() is None
    finally:
        await store.close()
    again = await Store.open(store_url)
    try:
        assert len(upgrades(caplog)) == 1
        assert await again.claim_key("webhook", "k") is False
    finally:
        await again.close()
    assert await revisions(store_url) == (HEAD,)


async def test_replicas_starting_together_upgrade_once(
    open_store: OpenStore, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.database")
    first, second = await asyncio.gather(open_store(), open_store())
    assert await first.ping() and await second.ping()
    assert len(upgrades(caplog)) == 1
    assert await revisions(store_url) == (HEAD,)
    engine = make_engine(store_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM alembic_version"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_database_of_the_previous_release_is_adopted_and_keeps_its_rows(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    dialect = "postgresql" if store_url.startswith("postgresql") else "sqlite"
    await execute(store_url, *previous_release_ddl(dialect))
    # Rows as that release wrote them (its tables, not today's schema.py, which will change).
    at = bindparam("at", AT, type_=DateTime(timezone=True))
    await execute(
        store_url,
        text("INSERT INTO versions (name, value) VALUES ('subscriptions', 3)"),
        text(
            "INSERT INTO claim_keys (namespace, key, owner, claimed_at) VALUES ('webhook', 'k', 'r1', :at)"
        ).bindparams(at),
        text(
            "INSERT INTO subscriptions (channel, space, schedule, cron, timezone, on_change, created_by, paused,"
            " created_at, updated_at) VALUES ('C1', 'default', 'every 15m', '*/15 * * * *', 'UTC', false, 'U1',"
            " false, :at, :at)"
        ).bindparams(at),
        text(
            "INSERT INTO audit_log (at, user_id, user_name, team, action, target, space, result, detail)"
            " VALUES (:at, 'U1', 'ana', 'T1', 'mute', 'r1/a1', 'default', 'ok', '')"
        ).bindparams(at),
    )
    assert await revisions(store_url) == ()
    caplog.set_level(logging.INFO, logger="bot.store.database")

    store = await Store.open(store_url)
    try:
        assert await revisions(store_url) == (HEAD,)
        assert upgrades(caplog) == [
            f"{UPGRADED} from {BASELINE} to {HEAD} (adopted the unversioned tables at the baseline)"
        ]
        assert await store.claim_key("webhook", "k") is False
        assert await store.subscriptions_version() == "3"
        [old] = await store.list_subscriptions()
        assert (old.channel, old.schedule, old.created_at) == ("C1", "every 15m", AT)
        [entry] = await store.list_audit()
        assert (entry.user_name, entry.target, entry.at) == ("ana", "r1/a1", AT)
        new = await store.add_subscription(
            channel="C2",
            space="default",
            schedule="every 1h",
            cron="0 * * * *",
            timezone="UTC",
            on_change=False,
            created_by="U2",
        )
        assert new.id > old.id
    finally:
        await store.close()


async def test_tables_without_a_revision_that_are_not_the_baseline_are_refused(store_url: str) -> None:
    await execute(store_url, "CREATE TABLE claim_keys (namespace VARCHAR(64) PRIMARY KEY, token TEXT)")
    with pytest.raises(StoreSchemaMismatch) as refused:
        await Store.open(store_url)
    assert "claim_keys lacks claimed_at, expires_at, key, owner" in str(refused.value)
    assert "claim_keys has unknown token" in str(refused.value)
    assert "no table subscriptions" in str(refused.value)
    assert await revisions(store_url) == ()


async def test_unrelated_tables_do_not_stop_a_new_database(store_url: str) -> None:
    await execute(store_url, "CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)")
    store = await Store.open(store_url)
    await store.close()
    assert await revisions(store_url) == (HEAD,)


async def test_a_database_newer_than_the_code_is_refused(open_store: OpenStore, store_url: str) -> None:
    await open_store()
    await execute(store_url, "UPDATE alembic_version SET version_num = 'abc123'")
    with pytest.raises(StoreSchemaTooNew) as refused:
        await Store.open(store_url)
    assert str(refused.value) == (
        f"schema revision abc123 is newer than this kibana-chatops (knows up to {HEAD}); "
        "upgrade the bot or point DATABASE_URL at another database"
    )
    assert await revisions(store_url) == ("abc123",)


async def test_the_migrations_make_exactly_the_models(store: Store) -> None:
    """schema.py and the revisions cannot drift: add a revision whenever the models change."""
    engine: AsyncEngine = store._engine

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_baseline_revision_makes_the_previous_release_tables(dialect: str) -> None:
    """The baseline's DDL is the frozen snapshot's, statement for statement."""
    config = alembic_config()
    config.output_buffer = io.StringIO()
    config.set_main_option("sqlalchemy.url", f"{dialect}://")
    command.upgrade(config, BASELINE, sql=True)
    emitted = "\n".join(line for line in config.output_buffer.getvalue().splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in emitted.split(";") if s.strip().startswith(("CREATE TABLE", "CREATE INDEX"))]
    made = sorted(" ".join(s.split()) for s in statements if "alembic_version" not in s)
    assert made == sorted(" ".join(s.split()) for s in previous_release_ddl(dialect))
