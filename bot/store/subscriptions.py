"""Health-report subscriptions: which channel gets which space's health, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.database import Database, check_caps
from bot.store.schema import subscription_runs, subscriptions, utcnow, versions

VERSION = "subscriptions"
CONFIG_CREATOR = "config"
_CAP_LOCK = 0x6B63_6873  # "kchs": health subscriptions are added one at a time (their caps hold)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    channel: str
    space: str
    schedule: str  # as the user wrote it: "every 15m", "daily 09:00", a cron line
    cron: str  # the five-field cron line it means
    timezone: str
    on_change: bool
    created_by: str  # Slack user id, or "config"
    paused: bool
    paused_reason: str | None
    last_health: str | None
    config_key: str | None  # set for a subscription declared in settings
    created_at: datetime
    updated_at: datetime

    @property
    def from_config(self) -> bool:
        return self.config_key is not None


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        channel=row.channel,
        space=row.space,
        schedule=row.schedule,
        cron=row.cron,
        timezone=row.timezone,
        on_change=row.on_change,
        created_by=row.created_by,
        paused=row.paused,
        paused_reason=row.paused_reason,
        last_health=row.last_health,
        config_key=row.config_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SubscriptionsMixin(Database):
    async def _changed(self, conn: AsyncConnection) -> None:
        await self._bump_version(conn, VERSION)

    async def add_subscription(
        self,
        *,
        channel: str,
        space: str,
        schedule: str,
        cron: str,
        timezone: str,
        on_change: bool,
        created_by: str,
        max_per_channel: int | None = None,
        max_in_all: int | None = None,
    ) -> Subscription:
        """Add a subscription; raises SubscriptionLimitReached when `channel` already has
        `max_per_channel`, or all channels `max_in_all` (checked in the same transaction, one
        subscriber at a time, so the caps hold however many subscribe at once)."""
        now = utcnow()
        async with self._write() as conn:
            await self._one_at_a_time(conn, _CAP_LOCK)
            await check_caps(conn, subscriptions, channel, max_per_channel, max_in_all)
            row = (
                await conn.execute(
                    subscriptions.insert()
                    .values(
                        channel=channel,
                        space=space,
                        schedule=schedule,
                        cron=cron,
                        timezone=timezone,
                        on_change=on_change,
                        created_by=created_by,
                        paused=False,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(*subscriptions.c)
                )
            ).one()
            await self._changed(conn)
        return _subscription(row)

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        async with self._read() as conn:
            row = (await conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id))).first()
        return _subscription(row) if row is not None else None

    async def list_subscriptions(
        self, *, channel: str | None = None, include_paused: bool = True
    ) -> list[Subscription]:
        """Subscriptions, oldest first; only one channel's when `channel` is given."""
        query = select(subscriptions).order_by(subscriptions.c.id)
        if channel is not None:
            query = query.where(subscriptions.c.channel == channel)
        if not include_paused:
            query = query.where(subscriptions.c.paused.is_(False))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_subscription(row) for row in rows]

    async def remove_subscription(self, subscription_id: int, *, channel: str | None = None) -> bool:
        """Delete one subscription (only if it belongs to `channel`, when given); True if it did."""
        where = [subscriptions.c.id == subscription_id]
        if channel is not None:
            where.append(subscriptions.c.channel == channel)
        async with self._write() as conn:
            deleted = await conn.execute(delete(subscriptions).where(*where))
            if deleted.rowcount == 0:
                return False
            await conn.execute(delete(subscription_runs).where(subscription_runs.c.subscription_id == subscription_id))
            await self._changed(conn)
        return True

    async def subscriptions_version(self) -> str:
        """A value that changes whenever any subscription is added, removed or changed."""
        async with self._read() as conn:
            value = (await conn.execute(select(versions.c.value).where(versions.c.name == VERSION))).scalar()
        return str(value or 0)

    async def set_subscription_paused(self, subscription_id: int, paused: bool, *, reason: str | None = None) -> bool:
        """Pause (with a reason to show) or resume a subscription; True when it exists."""
        async with self._write() as conn:
            changed = await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(paused=paused, paused_reason=reason if paused else None, updated_at=utcnow())
            )
            if changed.rowcount == 0:
                return False
            await self._changed(conn)
        return True

    async def set_last_health(self, subscription_id: int, state: str) -> str | None:
        """Store the latest health summary and return the previous one (for --on-change)."""
        async with self._write() as conn:
            previous = (
                await conn.execute(
                    select(subscriptions.c.last_health).where(subscriptions.c.id == subscription_id).with_for_update()
                )
            ).scalar()
            await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(last_health=state, last_health_at=utcnow())
            )
        return previous

    async def upsert_config_subscription(
        self,
        *,
        channel: str,
        space: str,
        schedule: str,
        cron: str,
        timezone: str,
        on_change: bool = False,
        key: str = "health",
    ) -> Subscription:
        """The subscription declared in settings: created once, updated when settings change.

        Safe when several replicas start together: one row per `key`, whoever comes first.
        """
        now = utcnow()
        fields = {
            "channel": channel,
            "space": space,
            "schedule": schedule,
            "cron": cron,
            "timezone": timezone,
            "on_change": on_change,
        }
        async with self._write() as conn:
            inserted = await conn.execute(
                self._insert(subscriptions)
                .values(
                    **fields,
                    created_by=CONFIG_CREATOR,
                    config_key=key,
                    paused=False,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=[subscriptions.c.config_key])
            )
            changed = inserted.rowcount == 1
            if not changed:
                differs = or_(*(subscriptions.c[name] != value for name, value in fields.items()))
                updated = await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.config_key == key, differs)
                    .values(**fields, updated_at=now)
                )
                changed = updated.rowcount == 1
            if changed:
                await self._changed(conn)
            row = (await conn.execute(select(subscriptions).where(subscriptions.c.config_key == key))).one()
        return _subscription(row)

    async def remove_config_subscription(self, key: str = "health") -> bool:
        """Delete the subscription declared in settings (they no longer declare one)."""
        async with self._read() as conn:
            found = (await conn.execute(select(subscriptions.c.id).where(subscriptions.c.config_key == key))).scalar()
        return found is not None and await self.remove_subscription(int(found))
