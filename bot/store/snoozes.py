"""Snooze schedules the bot created (rule, space, schedule id, end, who)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from bot.store.errors import store_unreachable
from bot.store.later import LaterMixin
from bot.store.schema import snooze_schedules, utcnow
from bot.store.timed_mutes import remind_at


@dataclass(frozen=True, slots=True)
class KnownSnooze:
    space: str
    rule_id: str
    schedule_id: str
    ends_at: datetime
    created_by: str


class SnoozesMixin(LaterMixin):
    _unrecorded: set[tuple[str, str, str]]

    async def remember_snooze(
        self,
        *,
        space: str,
        rule_id: str,
        schedule_id: str,
        ends_at: datetime,
        created_by: str,
        channel: str | None = None,
        thread_ts: str | None = None,
        remind_before: timedelta | None = None,
    ) -> bool:
        """Record a schedule the bot created (and where to remind whoever made it, `remind_before` its
        end). False when the database did not answer: the record waits to be written once it does
        (`snooze_unrecorded` says so until then)."""
        now = utcnow()
        insert = (
            self._insert(snooze_schedules)
            .values(
                space=space,
                rule_id=rule_id,
                schedule_id=schedule_id,
                ends_at=ends_at,
                created_by=created_by,
                created_at=now,
                channel=channel,
                thread_ts=thread_ts,
                remind_at=remind_at(ends_at, remind_before, now),
            )
            .on_conflict_do_nothing()
        )
        await self._write_waiting_first()  # in order: a forget kept for later goes first
        try:
            async with self._write() as conn:
                await conn.execute(insert)
        except Exception as error:
            if not store_unreachable(error):
                raise
            key = (space, rule_id, schedule_id)
            self.__dict__.setdefault("_unrecorded", set()).add(key)
            self._keep(
                "snooze schedule record",
                lambda conn: conn.execute(insert),
                on_written=lambda: self._unrecorded.discard(key),
            )
            return False
        return True

    def snooze_unrecorded(self, *, space: str, rule_id: str, schedule_id: str) -> bool:
        """True while the record of this schedule waits for the database."""
        return (space, rule_id, schedule_id) in self.__dict__.get("_unrecorded", set())

    async def known_snoozes(self, *, space: str, rule_id: str) -> list[KnownSnooze]:
        """The rule's schedules the bot created, ending last first."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(snooze_schedules)
                .where(snooze_schedules.c.space == space, snooze_schedules.c.rule_id == rule_id)
                .order_by(snooze_schedules.c.ends_at.desc())
            )
            return [KnownSnooze(row.space, row.rule_id, row.schedule_id, row.ends_at, row.created_by) for row in rows]

    async def snoozes_by(self, created_by: str, *, ending_after: datetime, limit: int = 200) -> list[KnownSnooze]:
        """The schedules a person created through the bot that end after `ending_after`, ending first first."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(snooze_schedules)
                .where(snooze_schedules.c.created_by == created_by, snooze_schedules.c.ends_at > ending_after)
                .order_by(snooze_schedules.c.ends_at)
                .limit(limit)
            )
            return [KnownSnooze(row.space, row.rule_id, row.schedule_id, row.ends_at, row.created_by) for row in rows]

    async def forget_snooze(self, *, space: str, rule_id: str, schedule_id: str) -> None:
        """Forget a schedule that Kibana no longer has; when the database does not answer, it is
        forgotten once it does (a record kept for later is then written first, then deleted)."""
        forget = delete(snooze_schedules).where(
            snooze_schedules.c.space == space,
            snooze_schedules.c.rule_id == rule_id,
            snooze_schedules.c.schedule_id == schedule_id,
        )
        await self._write_waiting_first()  # in order: a record kept for later goes first
        try:
            async with self._write() as conn:
                await conn.execute(forget)
        except Exception as error:
            if not store_unreachable(error):
                raise
            self._keep("forgotten snooze schedule", lambda conn: conn.execute(forget))
