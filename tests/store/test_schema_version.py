"""The start-up shortcut: an up-to-date database is recognised by one read, without Alembic.

Every other case (a new database, an unversioned one, a newer revision) is Alembic's, and
test_store_migrations.py covers them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bot.store.migrate import alembic_config
from bot.store.schema_version import HEAD

ROOT = Path(__file__).resolve().parents[2]


def test_head_names_the_newest_revision() -> None:
    newest = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert newest == HEAD, (
        f"bot/store/schema_version.py: set HEAD = {newest!r} (the newest revision in bot/store/migrations)"
    )


def test_reopening_an_up_to_date_database_loads_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    probe = (
        "import asyncio, sys\n"
        "from bot.store import Store\n"
        "async def main(url):\n"
        "    store = await Store.open(url)\n"
        "    await store.close()\n"
        "asyncio.run(main(sys.argv[1]))\n"
        "print('alembic' in sys.modules)\n"
    )
    runs = [
        subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", probe, url], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]  # the new database is made by Alembic; the restart reads one table
