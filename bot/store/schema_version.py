"""Whether a database is already at the schema this release needs, answered without Alembic.

Alembic (bot/store/migrate.py) answers it by loading its environment and every revision file,
about 0.1 s of a start-up. A restart on an up-to-date database, the usual case, only needs to
read the `alembic_version` table; everything else (a new database, an upgrade, one made by a
newer release, the unversioned tables of an old one) still goes through Alembic.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

# The newest revision in bot/store/migrations/versions. Adding a revision means changing this;
# tests/store/test_schema_version.py fails until it names Alembic's head.
HEAD = "b5e9d3f1a204"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def is_current(connection: Connection) -> bool:
    """True when the database's version table holds exactly HEAD."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return False
    found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()  # noqa: S608 - a constant
    return list(found) == [HEAD]
