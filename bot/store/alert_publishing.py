"""Who shows each alert group in Slack, and what Slack shows: the publisher's side of the store.

A group is pending while its `version` is ahead of `shown_version`. Its turn comes at `due_at`
(the debounce, pacing, a Retry-After or a failure's backoff); one publisher, on any replica,
leases it, shows it and lets go.

A group whose channel Slack refuses for good is `refused` (Slack's error, and when): it is shown in
ALERT_CHANNEL instead from then on (a new message), or, with nowhere else to go, closed unshown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update

from bot.store.database import Database
from bot.store.schema import alert_groups, alert_messages, utcnow

# A publisher holds a group for this long, and renews the lease of every group it is working on
# (waiting out Slack's rate limits included) every LEASE_RENEWAL (handlers/alerts/publisher.py). So a
# replica that died (`kill -9`, a lost machine) stops renewing, and another replica takes its groups
# over within LEASE; one that is merely slow keeps them.
LEASE = timedelta(seconds=20)
LEASE_RENEWAL = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class RefusedChannel:
    """A channel Slack refused alerts in for good, since some moment (`python -m bot check` lists them)."""

    channel: str  # as the delivery or the subscription named it
    reason: str  # Slack's error
    rules: int  # rules whose alerts it refused
    groups: int  # rule episodes it refused
    unshown: int  # … of which Slack shows nowhere (no ALERT_CHANNEL to go to, or it refused them too)
    last_at: datetime


class AlertPublishingMixin(Database):
    async def due_alert_groups(self, *, limit: int = 100) -> list[int]:
        """Groups Slack does not show as stored yet whose turn has come, and whose lease is free."""
        now = utcnow()
        query = (
            select(alert_groups.c.id)
            .where(
                alert_groups.c.shown_version < alert_groups.c.version,
                alert_groups.c.due_at <= now,
                or_(alert_groups.c.lease_until.is_(None), alert_groups.c.lease_until <= now),
            )
            .order_by(alert_groups.c.due_at, alert_groups.c.id)
            .limit(limit)
        )
        async with self._read() as conn:
            return [int(r.id) for r in await conn.execute(query)]

    async def lease_alert_group(self, group_id: int, *, owner: str, lease: timedelta = LEASE) -> bool:
        """True for the one publisher (on any replica) that may show the group now."""
        now = utcnow()
        async with self._write() as conn:
            taken = await conn.execute(
                update(alert_groups)
                .where(
                    alert_groups.c.id == group_id,
                    or_(
                        alert_groups.c.lease_until.is_(None),
                        alert_groups.c.lease_until <= now,
                        alert_groups.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + lease)
            )
            return taken.rowcount == 1

    async def renew_alert_group_leases(self, group_ids: Sequence[int], *, owner: str, lease: timedelta = LEASE) -> int:
        """The publisher `owner` is still working on these groups: their leases run `lease` from now
        (those it still holds; one statement). Returns how many it still holds."""
        if not group_ids:
            return 0
        async with self._write() as conn:
            renewed = await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id.in_(list(group_ids)), alert_groups.c.lease_owner == owner)
                .values(lease_until=utcnow() + lease)
            )
            return int(renewed.rowcount)

    async def alert_group_posting(self, group_id: int, *, owner: str) -> datetime | None:
        """A post of the group's message starts now (recorded before Slack is called: until its ts is
        recorded, the message may be in Slack). Returns when an earlier post was started that recorded
        no ts (a replica died, or Slack's answer was lost), which is kept: None when there was none."""
        now = utcnow()
        async with self._write() as conn:
            before = (
                await conn.execute(select(alert_groups.c.post_started_at).where(alert_groups.c.id == group_id))
            ).scalar()
            await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id, alert_groups.c.lease_owner == owner)
                .values(post_started_at=func.coalesce(alert_groups.c.post_started_at, now))
            )
        return before

    async def alert_group_not_posted(self, group_id: int) -> None:
        """Slack answered the post with an error: the message is not in Slack."""
        async with self._write() as conn:
            await conn.execute(update(alert_groups).where(alert_groups.c.id == group_id).values(post_started_at=None))

    async def channel_id_of(self, channel: str) -> str | None:
        """The id Slack answered with when a message was posted to `channel` (as a delivery names it:
        an id, or a #name); None when no message went there yet."""
        query = (
            select(alert_groups.c.message_channel)
            .where(alert_groups.c.channel == channel, alert_groups.c.message_channel.is_not(None))
            .limit(1)
        )
        async with self._read() as conn:
            found = (await conn.execute(query)).scalar()
        return str(found) if found is not None else None

    async def alert_group_posted(self, group_id: int, *, channel: str, ts: str) -> None:
        """Where the group's message went (`channel`: its id), as soon as Slack said."""
        now = utcnow()
        async with self._write() as conn:
            await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id)
                .values(ts=ts, message_channel=channel, post_started_at=None, updated_at=now)
            )
            await conn.execute(
                update(alert_messages)
                .where(alert_messages.c.group_id == group_id, alert_messages.c.ts.is_(None))
                .values(ts=ts, posted_at=now)
            )

    async def alert_group_shown(
        self, group_id: int, *, owner: str, version: int, logged_version: int, next_due: datetime, close: bool
    ) -> bool:
        """Slack shows `version`; release the lease. With `close` (no alert fires) the episode closes,
        unless a change came in meanwhile. True when it closed."""
        now = utcnow()
        async with self._write() as conn:
            await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id, alert_groups.c.lease_owner == owner)
                .values(
                    shown_version=func.max(alert_groups.c.shown_version, version)
                    if self.dialect == "sqlite"
                    else func.greatest(alert_groups.c.shown_version, version),
                    logged_version=logged_version,
                    due_at=next_due,
                    shown_at=now,
                    lease_owner=None,
                    lease_until=None,
                    failure=None,
                    failures=0,
                    updated_at=now,
                )
            )
            if not close:
                return False
            closed = await conn.execute(
                update(alert_groups)
                .where(
                    alert_groups.c.id == group_id, alert_groups.c.version == version, alert_groups.c.closed_at.is_(None)
                )
                .values(closed_at=now)
            )
            return closed.rowcount == 1

    async def postpone_alert_group(
        self, group_id: int, *, owner: str, retry_at: datetime, failure: str | None = None
    ) -> None:
        """Show the group at `retry_at` instead, and let go of it: after `failure` (what Slack
        answered; counted), or without one (its turn was not yet: pacing, Slack asking to wait)."""
        values: dict[str, Any] = {"due_at": retry_at, "lease_owner": None, "lease_until": None, "updated_at": utcnow()}
        if failure is not None:
            values |= {"failure": failure, "failures": alert_groups.c.failures + 1}
        async with self._write() as conn:
            await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id, alert_groups.c.lease_owner == owner)
                .values(**values)
            )

    async def release_alert_group(self, group_id: int, *, owner: str) -> None:
        """Give the lease back (shutting down), so another replica may publish at once."""
        async with self._write() as conn:
            await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id, alert_groups.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def retry_alert_group(self, group_id: int) -> bool:
        """A delivery came again for a group whose last attempt failed: try now. True when it had failed."""
        async with self._write() as conn:
            retried = await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id, alert_groups.c.failure.is_not(None))
                .values(due_at=utcnow(), failure=None)
            )
            return retried.rowcount == 1

    async def refuse_alert_group(self, group_id: int, *, owner: str, error: str, elsewhere: bool) -> None:
        """Slack refuses the group's channel for good (`error`, kept from the first time). With `elsewhere`
        (ALERT_CHANNEL) the group is shown there from now on, as a new message, at once. Without, Slack shows
        it nowhere: it closes unshown (the rule's next alert opens a new group, which tries the channel again)
        and its failure stays, so that deliveries waiting on it are told."""
        now = utcnow()
        values: dict[str, Any] = {
            "refused": func.coalesce(alert_groups.c.refused, error),
            "refused_at": func.coalesce(alert_groups.c.refused_at, now),
            "ts": None,
            "message_channel": None,
            "lease_owner": None,
            "lease_until": None,
            "updated_at": now,
        }
        if elsewhere:
            values |= {"due_at": now, "failure": None, "failures": 0}
        else:
            values |= {
                "failure": error,
                "failures": alert_groups.c.failures + 1,
                "shown_version": alert_groups.c.version,
                "closed_at": func.coalesce(alert_groups.c.closed_at, now),
            }
        async with self._write() as conn:
            await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id, alert_groups.c.lease_owner == owner)
                .values(**values)
            )

    async def refused_alert_channels(self, since: datetime, *, limit: int = 20) -> list[RefusedChannel]:
        """The channels Slack refused for good since `since`, the most recent first."""
        unshown = and_(alert_groups.c.ts.is_(None), alert_groups.c.closed_at.is_not(None))
        last = func.max(alert_groups.c.refused_at)
        query = (
            select(
                alert_groups.c.channel,
                alert_groups.c.refused,
                func.count(alert_groups.c.rule_id.distinct()).label("rules"),
                func.count().label("groups"),
                func.sum(case((unshown, 1), else_=0)).label("unshown"),
                last.label("last_at"),
            )
            .where(alert_groups.c.refused.is_not(None), alert_groups.c.refused_at >= since)
            .group_by(alert_groups.c.channel, alert_groups.c.refused)
            .order_by(last.desc(), alert_groups.c.channel)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RefusedChannel(
                channel=r.channel,
                reason=r.refused,
                rules=int(r.rules),
                groups=int(r.groups),
                unshown=int(r.unshown or 0),
                last_at=r.last_at,
            )
            for r in rows
        ]
