"""The versioned schema: Alembic, configured here (no alembic.ini), run at start-up.

`upgrade` runs on the store's own connection, inside a transaction the caller holds together
with the lock that makes replicas starting together take turns (see Database.upgrade_schema).
The revisions live in bot/store/migrations/versions; the first, BASELINE, is the schema of the
releases before versioning, whose databases are adopted by stamping them at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection

from bot.store.errors import StoreSchemaMismatch, StoreSchemaTooNew

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "68b6c4a6b701"


@dataclass(frozen=True)
class SchemaUpgrade:
    before: str | None  # None: a new database
    after: str
    adopted: bool  # tables of an unversioned release were stamped at BASELINE first


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration; with `connection`, env.py migrates through it (and never commits)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions in the database's alembic_version table (none when it has none)."""
    return tuple(MigrationContext.configure(connection).get_current_heads())


def upgrade(connection: Connection) -> SchemaUpgrade | None:
    """Bring the database to the head revision; None when it already was there."""
    config = alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    assert head is not None, "bot/store/migrations/versions has no revision"
    current = current_revisions(connection)
    known = {revision.revision for revision in script.walk_revisions()}
    for revision in current:
        if revision not in known:
            raise StoreSchemaTooNew(revision, head)
    if current == (head,):
        return None
    adopted = not current and _is_previous_release(connection)
    if adopted:
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")
    before = ", ".join(current) or (BASELINE if adopted else None)
    return SchemaUpgrade(before=before, after=head, adopted=adopted)


def _is_previous_release(connection: Connection) -> bool:
    """True when the baseline's tables are all there, False when none is (a new database).

    Other tables are ignored (the database may be shared); some of ours, or ours with other
    columns, is a database no release made: refused rather than guessed at.
    """
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    expected = baseline_columns()
    if not present & expected.keys():
        return False
    problems = []
    for table, columns in sorted(expected.items()):
        if table not in present:
            problems.append(f"no table {table}")
            continue
        found = {column["name"] for column in inspector.get_columns(table)}
        if missing := sorted(columns - found):
            problems.append(f"{table} lacks {', '.join(missing)}")
        if extra := sorted(found - columns):
            problems.append(f"{table} has unknown {', '.join(extra)}")
    if problems:
        raise StoreSchemaMismatch(problems)
    return True


@cache
def baseline_columns() -> dict[str, frozenset[str]]:
    """Each baseline table's columns, read from the baseline revision applied to a scratch database."""
    baseline = ScriptDirectory.from_config(alembic_config()).get_revision(BASELINE)
    assert baseline is not None
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            baseline.module.upgrade()
            inspector = inspect(conn)
            return {
                table: frozenset(column["name"] for column in inspector.get_columns(table))
                for table in inspector.get_table_names()
                if table != "alembic_version"
            }
    finally:
        engine.dispose()
