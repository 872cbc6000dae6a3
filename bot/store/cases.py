"""Cases opened from Slack: a de-duplication key per case, so retries never open two."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.store.database import Database
from bot.store.schema import cases, utcnow


@dataclass(frozen=True, slots=True)
class CaseRecord:
    dedupe_key: str
    space: str
    channel: str | None
    message_ts: str | None
    case_id: str | None  # None: creation in progress, or its outcome is unknown
    case_url: str | None
    claimed_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CaseClaim:
    first: bool  # True: this caller claimed the key and creates the case
    record: CaseRecord


def _record(row: Any) -> CaseRecord:
    return CaseRecord(
        dedupe_key=row.dedupe_key,
        space=row.space,
        channel=row.channel,
        message_ts=row.message_ts,
        case_id=row.case_id,
        case_url=row.case_url,
        claimed_at=row.claimed_at,
        updated_at=row.updated_at,
    )


class CasesMixin(Database):
    async def claim_case(
        self, dedupe_key: str, *, space: str, channel: str | None, message_ts: str | None
    ) -> CaseClaim:
        """Claim a de-duplication key; `first` says whether this caller got it.

        When it did not, `record` is the existing claim: its `case_id` is None while the
        first caller is still creating the case (or if that caller failed ambiguously).
        """
        now = utcnow()
        async with self._write() as conn:
            inserted = await conn.execute(
                self._insert(cases)
                .values(
                    dedupe_key=dedupe_key,
                    space=space,
                    channel=channel,
                    message_ts=message_ts,
                    claimed_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
            )
            row = (await conn.execute(select(cases).where(cases.c.dedupe_key == dedupe_key))).one()
        return CaseClaim(first=inserted.rowcount == 1, record=_record(row))

    async def set_case_id(self, dedupe_key: str, case_id: str, *, case_url: str | None = None) -> None:
        """Record the case that was created for the key."""
        async with self._write() as conn:
            await conn.execute(
                update(cases)
                .where(cases.c.dedupe_key == dedupe_key)
                .values(case_id=case_id, case_url=case_url, updated_at=utcnow())
            )

    async def release_case_claim(self, dedupe_key: str) -> bool:
        """Forget a claim whose case was not created, so it can be tried again.

        A claim that already has its case id is kept; True when a claim was released.
        """
        async with self._write() as conn:
            deleted = await conn.execute(
                delete(cases).where(cases.c.dedupe_key == dedupe_key, cases.c.case_id.is_(None))
            )
            return deleted.rowcount == 1

    async def get_case(self, dedupe_key: str) -> CaseRecord | None:
        async with self._read() as conn:
            row = (await conn.execute(select(cases).where(cases.c.dedupe_key == dedupe_key))).first()
        return _record(row) if row is not None else None

    async def case_for_message(self, channel: str, message_ts: str) -> CaseRecord | None:
        """The case opened from that Slack message (one with a case id first), if any."""
        query = (
            select(cases)
            .where(cases.c.channel == channel, cases.c.message_ts == message_ts)
            .order_by(cases.c.case_id.is_(None), cases.c.updated_at.desc())
            .limit(1)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return _record(row) if row is not None else None

    async def case_urls(self, case_ids: Sequence[str]) -> dict[str, str]:
        """The links the bot recorded for these cases (those it opened), by case id."""
        if not case_ids:
            return {}
        async with self._read() as conn:
            rows = await conn.execute(
                select(cases.c.case_id, cases.c.case_url).where(cases.c.case_id.in_(list(case_ids)))
            )
            return {row.case_id: row.case_url for row in rows if row.case_url}
