"""Where the Slack message of each alert lives, so a webhook delivery posts it once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, update

from bot.store.database import Database
from bot.store.schema import alert_message_content, alert_messages, utcnow

# A claim whose Slack post never completed (the replica died) may be taken over after this.
STALE_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class AlertMessage:
    space: str
    rule_id: str
    alert_id: str
    alert_uuid: str
    channel: str
    ts: str | None  # None while the message is being posted
    claimed_at: datetime
    posted_at: datetime | None
    recovered_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertContent:
    """What an alert message shows (JSON owned by the handler) and its status lines, oldest first."""

    channel: str
    ts: str
    content: str
    status_lines: tuple[str, ...]
    updated_at: datetime


def _alert(space: str, rule_id: str, alert_id: str, alert_uuid: str) -> ColumnElement[bool]:
    return and_(
        alert_messages.c.space == space,
        alert_messages.c.rule_id == rule_id,
        alert_messages.c.alert_id == alert_id,
        alert_messages.c.alert_uuid == alert_uuid,
    )


def _message(row: Any) -> AlertMessage:
    return AlertMessage(
        space=row.space,
        rule_id=row.rule_id,
        alert_id=row.alert_id,
        alert_uuid=row.alert_uuid,
        channel=row.channel,
        ts=row.ts,
        claimed_at=row.claimed_at,
        posted_at=row.posted_at,
        recovered_at=row.recovered_at,
    )


class AlertsMixin(Database):
    async def claim_alert_message(
        self,
        *,
        space: str,
        rule_id: str,
        alert_id: str,
        alert_uuid: str,
        channel: str,
        stale_after: timedelta = STALE_CLAIM,
    ) -> bool:
        """True → the caller posts the message, then calls `set_alert_message_ts`.

        False → another delivery already claimed (or posted) it. A claim that never got
        its `ts` within `stale_after` is taken over by the next caller.
        """
        now = utcnow()
        async with self._write() as conn:
            inserted = await conn.execute(
                self._insert(alert_messages)
                .values(
                    space=space,
                    rule_id=rule_id,
                    alert_id=alert_id,
                    alert_uuid=alert_uuid,
                    channel=channel,
                    claimed_at=now,
                )
                .on_conflict_do_nothing()
            )
            if inserted.rowcount == 1:
                return True
            taken_over = await conn.execute(
                update(alert_messages)
                .where(
                    _alert(space, rule_id, alert_id, alert_uuid),
                    alert_messages.c.ts.is_(None),
                    alert_messages.c.claimed_at <= now - stale_after,
                )
                .values(channel=channel, claimed_at=now)
            )
            return taken_over.rowcount == 1

    async def set_alert_message_ts(
        self, *, space: str, rule_id: str, alert_id: str, alert_uuid: str, channel: str, ts: str
    ) -> None:
        """Record where the claimed alert message was posted."""
        async with self._write() as conn:
            await conn.execute(
                update(alert_messages)
                .where(_alert(space, rule_id, alert_id, alert_uuid))
                .values(channel=channel, ts=ts, posted_at=utcnow())
            )

    async def release_alert_message(self, *, space: str, rule_id: str, alert_id: str, alert_uuid: str) -> bool:
        """Undo a claim whose Slack post failed, so the next delivery can try again.

        Only a claim without a posted message is released; True when one was.
        """
        async with self._write() as conn:
            deleted = await conn.execute(
                delete(alert_messages).where(
                    _alert(space, rule_id, alert_id, alert_uuid), alert_messages.c.ts.is_(None)
                )
            )
            return deleted.rowcount == 1

    async def get_alert_message(
        self, *, space: str, rule_id: str, alert_id: str, alert_uuid: str | None = None
    ) -> AlertMessage | None:
        """The message of that alert; with `alert_uuid` None, the newest one for the alert id."""
        query = select(alert_messages).where(
            alert_messages.c.space == space,
            alert_messages.c.rule_id == rule_id,
            alert_messages.c.alert_id == alert_id,
        )
        if alert_uuid is not None:
            query = query.where(alert_messages.c.alert_uuid == alert_uuid)
        query = query.order_by(alert_messages.c.claimed_at.desc(), alert_messages.c.id.desc()).limit(1)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return _message(row) if row is not None else None

    async def mark_alert_recovered(
        self, *, space: str, rule_id: str, alert_id: str, alert_uuid: str | None = None
    ) -> bool:
        """True only the first time an alert message is marked recovered.

        With `alert_uuid` None the newest message of the alert id is meant. False when
        it was already marked, or when no message of that alert is known.
        """
        async with self._write() as conn:
            newest = select(alert_messages.c.id).where(
                alert_messages.c.space == space,
                alert_messages.c.rule_id == rule_id,
                alert_messages.c.alert_id == alert_id,
            )
            if alert_uuid is not None:
                newest = newest.where(alert_messages.c.alert_uuid == alert_uuid)
            newest = newest.order_by(alert_messages.c.claimed_at.desc(), alert_messages.c.id.desc()).limit(1)
            message_id = (await conn.execute(newest)).scalar()
            if message_id is None:
                return False
            marked = await conn.execute(
                update(alert_messages)
                .where(alert_messages.c.id == message_id, alert_messages.c.recovered_at.is_(None))
                .values(recovered_at=utcnow())
            )
            return marked.rowcount == 1

    async def clear_alert_recovered(
        self, *, space: str, rule_id: str, alert_id: str, alert_uuid: str | None = None
    ) -> bool:
        """Undo `mark_alert_recovered` when showing the recovery in Slack failed, so a retry shows it."""
        async with self._write() as conn:
            query = update(alert_messages).where(
                alert_messages.c.space == space,
                alert_messages.c.rule_id == rule_id,
                alert_messages.c.alert_id == alert_id,
                alert_messages.c.recovered_at.is_not(None),
            )
            if alert_uuid is not None:
                query = query.where(alert_messages.c.alert_uuid == alert_uuid)
            cleared = await conn.execute(query.values(recovered_at=None))
            return cleared.rowcount > 0

    async def save_alert_content(self, *, channel: str, ts: str, content: str) -> None:
        """Keep what the message at (channel, ts) shows; its status lines are left as they are."""
        now = utcnow()
        insert = self._insert(alert_message_content).values(
            channel=channel, ts=ts, content=content, status_lines="[]", updated_at=now
        )
        async with self._write() as conn:
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[alert_message_content.c.channel, alert_message_content.c.ts],
                    set_={"content": content, "updated_at": now},
                )
            )

    async def get_alert_content(self, *, channel: str, ts: str) -> AlertContent | None:
        query = select(alert_message_content).where(
            alert_message_content.c.channel == channel, alert_message_content.c.ts == ts
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return _content(row) if row is not None else None

    async def add_alert_status_lines(
        self, *, channel: str, ts: str, lines: Sequence[str], keep: int = 10
    ) -> AlertContent | None:
        """Append `lines` (keeping the newest `keep`) and return the updated content; None when unknown."""
        where = (alert_message_content.c.channel == channel, alert_message_content.c.ts == ts)
        async with self._write() as conn:
            row = (await conn.execute(select(alert_message_content).where(*where).with_for_update())).first()
            if row is None:
                return None
            kept = [*json.loads(row.status_lines), *lines][-keep:] if keep > 0 else []
            now = utcnow()
            await conn.execute(
                update(alert_message_content).where(*where).values(status_lines=json.dumps(kept), updated_at=now)
            )
        return AlertContent(channel=channel, ts=ts, content=row.content, status_lines=tuple(kept), updated_at=now)


def _content(row: Any) -> AlertContent:
    return AlertContent(
        channel=row.channel,
        ts=row.ts,
        content=row.content,
        status_lines=tuple(json.loads(row.status_lines)),
        updated_at=row.updated_at,
    )
