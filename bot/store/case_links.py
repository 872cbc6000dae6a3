"""Cases linked to Slack threads: the card, thread sync, and how far the case's activity was brought in.

A case is linked to a thread once (`link_case`; linking again keeps the first row). The activity
reader takes a case's lease (`lease_case_link`, a conditional update, so two replicas never read
the same case at once), brings its new user actions into the thread and moves `seen` on. What the
bot did itself is noted as an echo (`note_echo`) and consumed when its user action is read
(`take_echo`), so that it is not told back to the thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from bot.store.database import Database
from bot.store.schema import case_echoes, case_links, utcnow


@dataclass(frozen=True, slots=True)
class CaseLink:
    id: int
    team: str | None
    channel: str
    thread_ts: str
    case_id: str
    space: str
    owner: str
    card_ts: str | None
    syncing: bool
    seen: int
    linked_at: datetime
    linked_by: str | None = None  # the Slack user who linked it (None: before this was recorded)
    title: str | None = None  # the case's title when it was linked


def _link(row: Any) -> CaseLink:
    return CaseLink(
        id=row.id,
        team=row.team,
        channel=row.channel,
        thread_ts=row.thread_ts,
        case_id=row.case_id,
        space=row.space,
        owner=row.owner,
        card_ts=row.card_ts,
        syncing=bool(row.syncing),
        seen=row.seen,
        linked_at=row.linked_at,
        linked_by=row.linked_by,
        title=row.title,
    )


class CaseLinksMixin(Database):
    async def link_case_to_thread(
        self,
        *,
        team: str | None,
        channel: str,
        thread_ts: str,
        case_id: str,
        space: str,
        owner: str,
        seen: int = 0,
        by: str | None = None,
        title: str | None = None,
    ) -> tuple[CaseLink, bool]:
        """The link of the case to the thread, and whether this call made it (False: it was linked already)."""
        async with self._write() as conn:
            inserted = await conn.execute(
                self._insert(case_links)
                .values(
                    team=team,
                    channel=channel,
                    thread_ts=thread_ts,
                    case_id=case_id,
                    space=space,
                    owner=owner,
                    seen=seen,
                    linked_at=utcnow(),
                    linked_by=by,
                    title=title[:255] if title is not None else None,
                )
                .on_conflict_do_nothing()
            )
            row = (
                await conn.execute(
                    select(case_links).where(
                        case_links.c.channel == channel,
                        case_links.c.thread_ts == thread_ts,
                        case_links.c.case_id == case_id,
                    )
                )
            ).one()
        return _link(row), inserted.rowcount == 1

    async def case_link(self, link_id: int) -> CaseLink | None:
        async with self._read() as conn:
            row = (await conn.execute(select(case_links).where(case_links.c.id == link_id))).first()
        return _link(row) if row is not None else None

    async def case_links_of_thread(self, channel: str, thread_ts: str) -> list[CaseLink]:
        query = select(case_links).where(case_links.c.channel == channel, case_links.c.thread_ts == thread_ts)
        async with self._read() as conn:
            rows = (await conn.execute(query.order_by(case_links.c.id))).all()
        return [_link(row) for row in rows]

    async def case_links_by(self, user_id: str, *, limit: int = 200) -> list[CaseLink]:
        """The links `user_id` made, newest first."""
        query = select(case_links).where(case_links.c.linked_by == user_id).order_by(case_links.c.id.desc())
        async with self._read() as conn:
            rows = (await conn.execute(query.limit(limit))).all()
        return [_link(row) for row in rows]

    async def set_case_card(self, link_id: int, card_ts: str) -> None:
        async with self._write() as conn:
            await conn.execute(update(case_links).where(case_links.c.id == link_id).values(card_ts=card_ts))

    async def set_thread_sync(self, link_id: int, syncing: bool) -> bool:
        """Turn the thread's sync on or off; False when it already was so (a double click)."""
        async with self._write() as conn:
            changed = await conn.execute(
                update(case_links)
                .where(case_links.c.id == link_id, case_links.c.syncing.is_(not syncing))
                .values(syncing=syncing)
            )
        return changed.rowcount == 1

    async def case_links_to_read(self, since: datetime) -> list[CaseLink]:
        """Links made since `since` (CASE_SYNC_DAYS), oldest first."""
        query = select(case_links).where(case_links.c.linked_at >= since).order_by(case_links.c.id)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_link(row) for row in rows]

    async def lease_case_link(self, link_id: int, owner: str, *, hold: timedelta) -> CaseLink | None:
        """The link, when this caller got its lease (no other replica holds it); None otherwise."""
        now = utcnow()
        async with self._write() as conn:
            taken = await conn.execute(
                update(case_links)
                .where(
                    case_links.c.id == link_id,
                    or_(
                        case_links.c.lease_until.is_(None),
                        case_links.c.lease_until <= now,
                        case_links.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + hold)
            )
            if taken.rowcount != 1:
                return None
            row = (await conn.execute(select(case_links).where(case_links.c.id == link_id))).one()
        return _link(row)

    async def release_case_link(self, link_id: int, owner: str, *, seen: int | None) -> None:
        """Give the lease back, recording how far the activity was read (None: as it was)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if seen is not None:
            values["seen"] = seen
        async with self._write() as conn:
            await conn.execute(
                update(case_links).where(case_links.c.id == link_id, case_links.c.lease_owner == owner).values(**values)
            )

    async def unlink_case(self, link_id: int) -> None:
        async with self._write() as conn:
            await conn.execute(delete(case_links).where(case_links.c.id == link_id))

    async def note_echo(self, case_id: str, field: str, value: str) -> None:
        """The bot did this to the case: its user action is not to be told to the thread."""
        async with self._write() as conn:
            await conn.execute(
                self._insert(case_echoes).values(case_id=case_id, field=field, value=value[:255], noted_at=utcnow())
            )

    async def take_echo(self, case_id: str, field: str, value: str) -> bool:
        """True (and forgotten) when the bot noted this change itself."""
        async with self._write() as conn:
            found = (
                await conn.execute(
                    select(case_echoes.c.id)
                    .where(
                        and_(
                            case_echoes.c.case_id == case_id,
                            case_echoes.c.field == field,
                            case_echoes.c.value == value[:255],
                        )
                    )
                    .order_by(case_echoes.c.id)
                    .limit(1)
                )
            ).first()
            if found is None:
                return False
            deleted = await conn.execute(delete(case_echoes).where(case_echoes.c.id == found.id))
        return deleted.rowcount == 1

    async def forget_echoes(self, before: datetime) -> int:
        async with self._write() as conn:
            deleted = await conn.execute(delete(case_echoes).where(case_echoes.c.noted_at < before))
        return int(deleted.rowcount or 0)
