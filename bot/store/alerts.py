"""What an alert message shows, kept beside it, and the status lines buttons added to it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.store.database import Database
from bot.store.schema import alert_groups, alert_message_content, alert_messages, utcnow


@dataclass(frozen=True, slots=True)
class AlertContent:
    """What an alert message shows (JSON owned by the handler) and its status lines, oldest first."""

    channel: str
    ts: str
    content: str
    status_lines: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """Which alert a stored alert row is: what a short reference in a menu stands for."""

    space: str
    rule_id: str
    alert_id: str
    alert_uuid: str
    group_id: int | None = None  # the episode it counts in (None: a row from before grouping)


@dataclass(frozen=True, slots=True)
class ShownRule:
    """The rule (in a space) whose alert group a message at (channel, ts) shows."""

    space: str
    rule_id: str
    group_id: int


class AlertsMixin(Database):
    async def rule_shown_at(self, *, channel: str, ts: str) -> ShownRule | None:
        """The rule and alert group the message at (channel, ts) shows; None when the store knows no
        group's message there (not an alert message, one pruned, or one from before grouping)."""
        columns = (alert_groups.c.space, alert_groups.c.rule_id, alert_groups.c.id)
        query = select(*columns).where(alert_groups.c.message_channel == channel, alert_groups.c.ts == ts)
        async with self._read() as conn:
            row = (await conn.execute(query.order_by(alert_groups.c.id.desc()).limit(1))).first()
        return ShownRule(row.space, row.rule_id, row.id) if row is not None else None

    async def alert_in_group(self, group_id: int, *, alert_id: str, alert_uuid: str | None = None) -> int | None:
        """The row of alert `alert_id` (of that uuid, when given) in the group; None when it is not in it."""
        query = select(alert_messages.c.id).where(
            alert_messages.c.group_id == group_id, alert_messages.c.alert_id == alert_id
        )
        if alert_uuid:
            query = query.where(alert_messages.c.alert_uuid == alert_uuid)
        async with self._read() as conn:
            found = (await conn.execute(query.limit(1))).scalar()
        return int(found) if found is not None else None

    async def stored_alert(self, row_id: int) -> StoredAlert | None:
        """The alert of the alert row `row_id` (a group message's menu option names it), if still kept."""
        columns = (
            alert_messages.c.space,
            alert_messages.c.rule_id,
            alert_messages.c.alert_id,
            alert_messages.c.alert_uuid,
            alert_messages.c.group_id,
        )
        async with self._read() as conn:
            row = (await conn.execute(select(*columns).where(alert_messages.c.id == row_id))).first()
        if row is None:
            return None
        return StoredAlert(row.space, row.rule_id, row.alert_id, row.alert_uuid, row.group_id)

    async def alert_with_uuid(self, alert_uuid: str) -> StoredAlert | None:
        """The alert Kibana knows by `alert_uuid` (its `kibana.alert.uuid`), if the bot recorded it."""
        columns = (
            alert_messages.c.space,
            alert_messages.c.rule_id,
            alert_messages.c.alert_id,
            alert_messages.c.alert_uuid,
            alert_messages.c.group_id,
        )
        query = select(*columns).where(alert_messages.c.alert_uuid == alert_uuid).order_by(alert_messages.c.id.desc())
        async with self._read() as conn:
            row = (await conn.execute(query.limit(1))).first()
        if row is None:
            return None
        return StoredAlert(row.space, row.rule_id, row.alert_id, row.alert_uuid, row.group_id)

    async def alerts_of_group(self, group_id: int, *, limit: int) -> list[StoredAlert]:
        """The alerts counted in the group (firing and recovered), oldest first, at most `limit`."""
        columns = (
            alert_messages.c.space,
            alert_messages.c.rule_id,
            alert_messages.c.alert_id,
            alert_messages.c.alert_uuid,
            alert_messages.c.group_id,
        )
        query = select(*columns).where(alert_messages.c.group_id == group_id).order_by(alert_messages.c.id).limit(limit)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [StoredAlert(r.space, r.rule_id, r.alert_id, r.alert_uuid, r.group_id) for r in rows]

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
