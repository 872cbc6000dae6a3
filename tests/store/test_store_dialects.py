"""A SQLite bot never loads SQLAlchemy's PostgreSQL dialect (~70 ms of every start-up); a
PostgreSQL store still gets the PostgreSQL form of the open-episode index."""

from __future__ import annotations

import subprocess
import sys

from bot.store.database import make_engine
from bot.store.schema import alert_groups

LOADED = """
import sys
import bot.app
from bot.store.database import make_engine
make_engine("sqlite+aiosqlite:///:memory:")
print(sorted(m for m in sys.modules if m.startswith("sqlalchemy.dialects.postgresql")))
"""


def test_a_sqlite_bot_does_not_load_the_postgresql_dialect() -> None:
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", LOADED], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_postgresql_engine_gives_the_open_episode_index_its_where_clause() -> None:
    index = next(i for i in alert_groups.indexes if i.name == "uq_alert_groups_open")
    make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")  # nothing connects yet

    where = index.dialect_options["postgresql"]["where"]
    assert str(where) == "closed_at IS NULL"
    assert str(index.dialect_options["sqlite"]["where"]) == "closed_at IS NULL"
