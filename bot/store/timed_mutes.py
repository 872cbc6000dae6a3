"""Mutes with an end, and reminders before mutes and snoozes end.

A timed mute is one row: what is muted (a rule's alert, or all its alerts), how it ends ("bot": the
bot unmutes at `ends_at`; "kibana": Kibana's alert snooze ends it), when to remind whoever muted,
and where (the alert message's thread, or the channel). Every replica looks for what is due; the
one whose conditional update claims the row acts, so each end and each reminder happens once. A
claim that was never finished (its replica stopped in the middle) may be taken again after
`CLAIM_LEASE`, so a restart loses no end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update

from bot.store.database import Database
from bot.store.schema import snooze_schedules, timed_mutes, utcnow

CLAIM_LEASE = timedelta(minutes=2)
HOW_BOT = "bot"
HOW_KIBANA = "kibana"


@dataclass(frozen=True, slots=True)
class TimedMute:
    id: int
    space: str
    rule_id: str
    alert_id: str | None  # None: all alerts of the rule
    how: str  # HOW_BOT | HOW_KIBANA
    ends_at: datetime | None  # None: until it gets worse (Kibana's condition)
    created_by: str
    channel: str | None
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class SnoozeToRemind:
    id: int
    space: str
    rule_id: str
    schedule_id: str
    ends_at: datetime
    created_by: str
    channel: str | None
    thread_ts: str | None


def remind_at(ends_at: datetime | None, before: timedelta | None, now: datetime) -> datetime | None:
    """When to remind: `before` the end, if that is still to come (no reminder without an end or with 0)."""
    if ends_at is None or not before:
        return None
    moment = ends_at - before
    return moment if moment > now else None


def _mute(row: Any) -> TimedMute:
    return TimedMute(
        row.id,
        row.space,
        row.rule_id,
        row.alert_id,
        row.how,
        row.ends_at,
        row.created_by,
        row.channel,
        row.thread_ts,
    )


class TimedMutesMixin(Database):
    async def record_timed_mute(
        self,
        *,
        space: str,
        rule_id: str,
        alert_id: str | None,
        how: str,
        ends_at: datetime | None,
        remind_before: timedelta | None,
        created_by: str,
        channel: str | None,
        thread_ts: str | None,
    ) -> int:
        """Record a mute with an end; it replaces the end of the same alert's (or rule's) earlier one."""
        now = utcnow()
        async with self._write() as conn:
            await conn.execute(delete(timed_mutes).where(self._same(space, rule_id, alert_id), self._open()))
            result = await conn.execute(
                timed_mutes.insert()
                .values(
                    space=space,
                    rule_id=rule_id,
                    alert_id=alert_id,
                    how=how,
                    ends_at=ends_at,
                    remind_at=remind_at(ends_at, remind_before, now),
                    created_by=created_by,
                    created_at=now,
                    channel=channel,
                    thread_ts=thread_ts,
                )
                .returning(timed_mutes.c.id)
            )
            return int(result.scalar_one())

    @staticmethod
    def _same(space: str, rule_id: str, alert_id: str | None) -> ColumnElement[bool]:
        alert = timed_mutes.c.alert_id.is_(None) if alert_id is None else timed_mutes.c.alert_id == alert_id
        return and_(timed_mutes.c.space == space, timed_mutes.c.rule_id == rule_id, alert)

    @staticmethod
    def _open() -> ColumnElement[bool]:
        return timed_mutes.c.ended_at.is_(None)

    async def forget_timed_mutes(
        self, *, space: str, rule_id: str, alert_id: str | None, whole_rule: bool = False
    ) -> list[TimedMute]:
        """A person unmuted: the bot no longer ends (or reminds of) these mutes. `whole_rule`: every
        mute of the rule (unmute-all). Returns what was forgotten."""
        where = (
            and_(timed_mutes.c.space == space, timed_mutes.c.rule_id == rule_id)
            if whole_rule
            else self._same(space, rule_id, alert_id)
        )
        async with self._write() as conn:
            rows = (await conn.execute(select(timed_mutes).where(where, self._open()))).all()
            if rows:
                await conn.execute(delete(timed_mutes).where(timed_mutes.c.id.in_([r.id for r in rows])))
        return [_mute(r) for r in rows]

    async def timed_mute(self, row_id: int) -> TimedMute | None:
        async with self._read() as conn:
            row = (await conn.execute(select(timed_mutes).where(timed_mutes.c.id == row_id))).first()
        return None if row is None else _mute(row)

    async def timed_mutes_of(self, *, space: str, rule_id: str) -> list[TimedMute]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(timed_mutes).where(timed_mutes.c.space == space, timed_mutes.c.rule_id == rule_id, self._open())
            )
            return [_mute(r) for r in rows]

    async def active_timed_mutes(self, limit: int = 50) -> list[TimedMute]:
        """The mutes the bot knows will end, soonest first (those until it gets worse last)."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(timed_mutes)
                .where(self._open())
                .order_by(timed_mutes.c.ends_at.is_(None), timed_mutes.c.ends_at, timed_mutes.c.id)
                .limit(limit)
            )
            return [_mute(r) for r in rows]

    async def timed_mutes_by(self, user_id: str, *, limit: int = 100) -> list[TimedMute]:
        """The mutes `user_id` made that have an end the bot knows of and are not over, newest first."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(timed_mutes)
                .where(timed_mutes.c.created_by == user_id, self._open())
                .order_by(timed_mutes.c.id.desc())
                .limit(limit)
            )
            return [_mute(r) for r in rows]

    async def due_mute_ends(self, now: datetime, limit: int = 50) -> list[TimedMute]:
        """Mutes whose end has come, unclaimed (or claimed by a replica that never finished)."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(timed_mutes)
                .where(timed_mutes.c.ends_at <= now, self._claimable(now))
                .order_by(timed_mutes.c.ends_at)
                .limit(limit)
            )
            return [_mute(r) for r in rows]

    @staticmethod
    def _claimable(now: datetime) -> ColumnElement[bool]:
        return or_(timed_mutes.c.ended_at.is_(None), timed_mutes.c.ended_at < now - CLAIM_LEASE)

    async def claim_mute_end(self, row_id: int, *, owner: str, now: datetime) -> bool:
        """True for the one replica that gets to end this mute."""
        async with self._write() as conn:
            result = await conn.execute(
                update(timed_mutes)
                .where(timed_mutes.c.id == row_id, timed_mutes.c.ends_at <= now, self._claimable(now))
                .values(ended_at=now, ended_by=owner)
            )
            return bool(result.rowcount == 1)

    async def release_mute_end(self, row_id: int) -> None:
        """The end could not be made (Kibana did not answer): try again on the next look."""
        async with self._write() as conn:
            await conn.execute(
                update(timed_mutes).where(timed_mutes.c.id == row_id).values(ended_at=None, ended_by=None)
            )

    async def finish_mute_end(self, row_id: int) -> None:
        async with self._write() as conn:
            await conn.execute(delete(timed_mutes).where(timed_mutes.c.id == row_id))

    async def extend_timed_mute(self, row_id: int, *, ends_at: datetime, remind_before: timedelta | None) -> bool:
        """A new end (Extend 1 h): reminded again before it. False when the mute already ended or was undone."""
        now = utcnow()
        async with self._write() as conn:
            result = await conn.execute(
                update(timed_mutes)
                .where(timed_mutes.c.id == row_id, self._open())
                .values(ends_at=ends_at, remind_at=remind_at(ends_at, remind_before, now), reminded_at=None)
            )
            return bool(result.rowcount == 1)

    async def due_mute_reminders(self, now: datetime, limit: int = 50) -> list[TimedMute]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(timed_mutes)
                .where(timed_mutes.c.remind_at <= now, timed_mutes.c.reminded_at.is_(None), self._open())
                .order_by(timed_mutes.c.remind_at)
                .limit(limit)
            )
            return [_mute(r) for r in rows]

    async def claim_mute_reminder(self, row_id: int, *, now: datetime) -> bool:
        """True for the one replica that gets to send this reminder."""
        async with self._write() as conn:
            result = await conn.execute(
                update(timed_mutes)
                .where(timed_mutes.c.id == row_id, timed_mutes.c.reminded_at.is_(None), self._open())
                .values(reminded_at=now)
            )
            return bool(result.rowcount == 1)

    # ---- rule snoozes the bot made (snooze_schedules) -------------------------------------

    async def snooze_row(self, row_id: int) -> SnoozeToRemind | None:
        async with self._read() as conn:
            row = (await conn.execute(select(snooze_schedules).where(snooze_schedules.c.id == row_id))).first()
        if row is None:
            return None
        return SnoozeToRemind(
            row.id, row.space, row.rule_id, row.schedule_id, row.ends_at, row.created_by, row.channel, row.thread_ts
        )

    async def active_snoozes(self, now: datetime, limit: int = 50) -> list[SnoozeToRemind]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(snooze_schedules)
                .where(snooze_schedules.c.ends_at > now)
                .order_by(snooze_schedules.c.ends_at)
                .limit(limit)
            )
            return [
                SnoozeToRemind(r.id, r.space, r.rule_id, r.schedule_id, r.ends_at, r.created_by, r.channel, r.thread_ts)
                for r in rows
            ]

    async def due_snooze_reminders(self, now: datetime, limit: int = 50) -> list[SnoozeToRemind]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(snooze_schedules)
                .where(
                    snooze_schedules.c.remind_at <= now,
                    snooze_schedules.c.reminded_at.is_(None),
                    snooze_schedules.c.ends_at > now,
                )
                .order_by(snooze_schedules.c.remind_at)
                .limit(limit)
            )
            return [
                SnoozeToRemind(r.id, r.space, r.rule_id, r.schedule_id, r.ends_at, r.created_by, r.channel, r.thread_ts)
                for r in rows
            ]

    async def claim_snooze_reminder(self, row_id: int, *, now: datetime) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(snooze_schedules)
                .where(snooze_schedules.c.id == row_id, snooze_schedules.c.reminded_at.is_(None))
                .values(reminded_at=now)
            )
            return bool(result.rowcount == 1)
