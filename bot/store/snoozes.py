"""Snooze schedules the bot created (rule, space, schedule id, end, who)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from bot.store.database import Database
from bot.store.schema import snooze_schedules, utcnow


@dataclass(frozen=True, slots=True)
class KnownSnooze:
    space: str
    rule_id: str
    schedule_id: str
    ends_at: datetime
    created_by: str


class SnoozesMixin(Database):
    async def remember_snooze(
        self, *, space: str, rule_id: str, schedule_id: str, ends_at: datetime, created_by: str
    ) -> None:
        async with self._write() as conn:
            await conn.execute(
                self._insert(snooze_schedules)
                .values(
                    space=space,
                    rule_id=rule_id,
                    schedule_id=schedule_id,
                    ends_at=ends_at,
                    created_by=created_by,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing()
            )

    async def known_snoozes(self, *, space: str, rule_id: str) -> list[KnownSnooze]:
        """The rule's schedules the bot created, ending last first."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(snooze_schedules)
                .where(snooze_schedules.c.space == space, snooze_schedules.c.rule_id == rule_id)
                .order_by(snooze_schedules.c.ends_at.desc())
            )
            return [KnownSnooze(row.space, row.rule_id, row.schedule_id, row.ends_at, row.created_by) for row in rows]

    async def forget_snooze(self, *, space: str, rule_id: str, schedule_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                delete(snooze_schedules).where(
                    snooze_schedules.c.space == space,
                    snooze_schedules.c.rule_id == rule_id,
                    snooze_schedules.c.schedule_id == schedule_id,
                )
            )
