"""People's links to their own Kibana API key (KIBANA_IDENTITY=person): the rows as stored.

The key is stored as the ciphertext `bot.people.PersonLinks` made of it; this module never sees it
in clear. One row per (Slack team, Slack user, Kibana deployment); every replica reads the same rows,
so a link made on one is used by all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from bot.store.database import Database
from bot.store.schema import kibana_links, utcnow


@dataclass(frozen=True)
class StoredLink:
    team_id: str
    user_id: str
    deployment: str
    ciphertext: str
    key_id: str
    kibana_user: str | None
    stale: bool
    created_at: datetime
    updated_at: datetime


class KibanaLinksMixin(Database):
    async def save_kibana_link(
        self, team_id: str, user_id: str, deployment: str, *, ciphertext: str, key_id: str, kibana_user: str | None
    ) -> None:
        """Link (or re-link) a person to a key: the link is fresh (not stale) from now on."""
        now = utcnow()
        row = {"api_key": ciphertext, "key_id": key_id, "kibana_user": kibana_user, "stale": False, "updated_at": now}
        key = {"team_id": team_id, "user_id": user_id, "deployment": deployment}
        async with self._write() as conn:
            insert = self._insert(kibana_links).values(**key, **row, created_at=now)
            await conn.execute(insert.on_conflict_do_update(index_elements=list(key), set_=row))

    async def kibana_link(self, team_id: str, user_id: str, deployment: str) -> StoredLink | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(kibana_links).where(
                        kibana_links.c.team_id == team_id,
                        kibana_links.c.user_id == user_id,
                        kibana_links.c.deployment == deployment,
                    )
                )
            ).first()
        if row is None:
            return None
        return _link(row._mapping)

    async def mark_kibana_link_stale(self, team_id: str, user_id: str, deployment: str, key_id: str) -> bool:
        """Mark the link stale, if it is still to the key `key_id` (a newer link stays fresh)."""
        async with self._write() as conn:
            result = await conn.execute(
                update(kibana_links)
                .where(
                    kibana_links.c.team_id == team_id,
                    kibana_links.c.user_id == user_id,
                    kibana_links.c.deployment == deployment,
                    kibana_links.c.key_id == key_id,
                )
                .values(stale=True, updated_at=utcnow())
            )
        return bool(result.rowcount)

    async def forget_kibana_link(self, team_id: str, user_id: str, deployment: str) -> StoredLink | None:
        """Delete the link; returns what it was (None: there was none)."""
        async with self._write() as conn:
            where = (
                kibana_links.c.team_id == team_id,
                kibana_links.c.user_id == user_id,
                kibana_links.c.deployment == deployment,
            )
            row = (await conn.execute(select(kibana_links).where(*where))).first()
            if row is None:
                return None
            await conn.execute(delete(kibana_links).where(*where))
        return _link(row._mapping)

    async def kibana_links(self) -> list[StoredLink]:
        """Every link (for `check`, and for re-encrypting under a new CREDENTIALS_KEY)."""
        async with self._read() as conn:
            rows = (await conn.execute(select(kibana_links).order_by(kibana_links.c.created_at))).all()
        return [_link(row._mapping) for row in rows]

    async def count_kibana_links(self) -> int:
        async with self._read() as conn:
            return int((await conn.execute(select(func.count()).select_from(kibana_links))).scalar_one())

    async def reencrypt_kibana_link(self, link: StoredLink, ciphertext: str) -> None:
        """Store `ciphertext` (the same key under the first CREDENTIALS_KEY) if the link did not change."""
        async with self._write() as conn:
            await conn.execute(
                update(kibana_links)
                .where(
                    kibana_links.c.team_id == link.team_id,
                    kibana_links.c.user_id == link.user_id,
                    kibana_links.c.deployment == link.deployment,
                    kibana_links.c.api_key == link.ciphertext,
                )
                .values(api_key=ciphertext)
            )


def _link(row: object) -> StoredLink:
    values = dict(row)  # type: ignore[call-overload]
    return StoredLink(
        team_id=values["team_id"],
        user_id=values["user_id"],
        deployment=values["deployment"],
        ciphertext=values["api_key"],
        key_id=values["key_id"],
        kibana_user=values["kibana_user"],
        stale=bool(values["stale"]),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )
