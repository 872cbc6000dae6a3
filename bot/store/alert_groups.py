"""Alert groups: a rule's episode in a channel, the alerts counted in it, and who publishes it.

Every delivery (webhook or polling) is recorded here first, in one transaction; Slack is
told afterwards by the publisher, from what is stored. So a Slack failure or a restart
loses nothing, and the counts come from the alert rows themselves: an alert delivered
twice, by Kibana's retries or by two replicas, is one row and is counted once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.alert_claims import AlertClaim, claim_of
from bot.store.batches import GroupCommit
from bot.store.database import Database
from bot.store.schema import alert_groups, alert_messages, utcnow

# Deliveries recorded in one transaction at most: a transaction holds its groups' rows until it commits,
# so that another replica's deliveries for the same rules wait for it. One: several per transaction
# measured within noise (the cost is each delivery's statements, not the commits) and, on PostgreSQL,
# deadlocked against the other replica's batch and the publisher's lease on a group in the two-replica
# storm test (answered 500, which Kibana retries). Set-based batch statements are the next step.
ALERTS_PER_TRANSACTION = 1

Outcome = Literal["new", "recovered_new", "changed", "recovered", "duplicate"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording a delivery did: the group it counts in, and the version that shows it."""

    outcome: Outcome
    group_id: int
    version: int  # Slack shows this delivery once the group's shown_version reaches it
    # the alert opened its group (its message is the alert's own); worked out for a new alert and a
    # duplicate (what the webhook's answer names), False for a change or a recovery of a recorded alert
    first: bool
    recovered: bool  # the alert, as stored now, has recovered
    # the group as the transaction that recorded the delivery left it (record_alerts), so that the webhook
    # need not read it again; None: read it (`alert_group`)
    group: AlertGroup | None = None


@dataclass(frozen=True, slots=True)
class AlertGroup:
    id: int
    space: str
    rule_id: str
    channel: str
    rule_name: str
    tags: tuple[str, ...]
    rule_muted_all: bool
    rule_enabled: bool
    ts: str | None
    message_channel: str | None  # the channel id of the message (the delivery may name #channel)
    started_at: datetime
    closed_at: datetime | None
    version: int
    shown_version: int
    logged_version: int
    due_at: datetime
    shown_at: datetime | None
    failure: str | None
    failures: int
    refused: str | None = None  # Slack's error for `channel`, once it refused it for good
    refused_at: datetime | None = None
    post_started_at: datetime | None = None  # a post was started and no ts recorded: it may be in Slack

    @property
    def pending(self) -> bool:
        return self.shown_version < self.version


@dataclass(frozen=True, slots=True)
class GroupAlert:
    id: int
    alert_id: str
    alert_uuid: str
    action_group: str
    reason: str
    started_at: datetime
    recovered_at: datetime | None
    recovery_reason: str
    muted: bool
    seq: int
    changed_seq: int | None
    recovered_seq: int | None
    facts: str | None = None  # what else the alert carries, as JSON (handlers/alerts/card_facts.py)


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    """A group as the publisher renders it: counts, the newest alerts, what changed since the log."""

    group: AlertGroup
    firing: int
    recovered: int
    newest: tuple[GroupAlert, ...]  # newest first
    joined: tuple[GroupAlert, ...]  # joined after logged_version, oldest first
    left: tuple[GroupAlert, ...]  # recovered after logged_version, oldest first
    joined_total: int
    left_total: int
    claim: AlertClaim | None = None  # who is on the episode ("I'm on it")

    @property
    def total(self) -> int:
        return self.firing + self.recovered


def _group(row: Any) -> AlertGroup:
    return AlertGroup(
        id=row.id,
        space=row.space,
        rule_id=row.rule_id,
        channel=row.channel,
        rule_name=row.rule_name,
        tags=tuple(json.loads(row.tags)),
        rule_muted_all=row.rule_muted_all,
        rule_enabled=row.rule_enabled,
        ts=row.ts,
        message_channel=row.message_channel,
        started_at=row.started_at,
        closed_at=row.closed_at,
        version=row.version,
        shown_version=row.shown_version,
        logged_version=row.logged_version,
        due_at=row.due_at,
        shown_at=row.shown_at,
        failure=row.failure,
        failures=row.failures,
        refused=row.refused,
        refused_at=row.refused_at,
        post_started_at=row.post_started_at,
    )


def _alert(row: Any) -> GroupAlert:
    return GroupAlert(
        id=row.id,
        alert_id=row.alert_id,
        alert_uuid=row.alert_uuid,
        action_group=row.action_group or "",
        reason=row.reason or "",
        started_at=row.started_at or row.claimed_at,
        recovered_at=row.recovered_at,
        recovery_reason=row.recovery_reason or "",
        muted=row.muted,
        seq=row.seq or 0,
        changed_seq=row.changed_seq,
        recovered_seq=row.recovered_seq,
        facts=row.facts,
    )


@dataclass(frozen=True, slots=True)
class Delivered:
    """One alert delivery, whichever way it came (webhook or alerts-as-data)."""

    space: str
    rule_id: str
    alert_id: str
    alert_uuid: str
    rule_name: str
    tags: Sequence[str]
    action_group: str
    reason: str
    date: datetime
    recovered: bool
    facts: str | None = None  # what else the alert carries, as JSON; None: nothing (or not known)


@dataclass(frozen=True, slots=True)
class ToRecord:
    """A delivery to record (`AlertGroupsMixin.record_alert`'s arguments)."""

    delivered: Delivered
    channel: str
    debounce: timedelta = timedelta(0)
    fan_out: bool = False

    @property
    def key(self) -> tuple[str, str, str, str]:
        d = self.delivered
        return (d.space, d.rule_id, d.alert_id, d.alert_uuid)


class AlertGroupsMixin(Database):
    _alert_writes: GroupCommit[ToRecord, Recorded]

    async def record_alert_together(
        self, delivered: Delivered, *, channel: str, debounce: timedelta = timedelta(0)
    ) -> Recorded:
        """`record_alert` (a webhook delivery). With ALERTS_PER_TRANSACTION 1 (today), in its own transaction,
        side by side with the others. Above it, in one transaction with the other deliveries waiting to be
        recorded (`GroupCommit`): a storm's deliveries cost a transaction per batch instead of one each.
        Returns once this delivery is committed. A batch that fails is written again one delivery at a
        time (it was rolled back whole: nothing is lost or counted twice), so one that cannot be
        recorded fails alone."""
        item = ToRecord(delivered, channel, debounce)
        if ALERTS_PER_TRANSACTION <= 1:  # each in its own transaction, side by side (at most the writers' bound)
            return (await self.record_alerts([item]))[0]
        if "_alert_writes" not in self.__dict__:
            self._alert_writes = GroupCommit(
                "alert-recorder", lambda items: self.record_alerts(items), limit=ALERTS_PER_TRANSACTION
            )
        return await self._alert_writes.submit(item)

    async def record_alert(
        self, delivered: Delivered, *, channel: str, debounce: timedelta = timedelta(0), fan_out: bool = False
    ) -> Recorded:
        """Count the delivery in the rule's open group in `channel` (opening one), exactly once.

        The key is space, rule, alert id and alert uuid. A webhook delivery (`fan_out` False) goes
        where the alert already is, whatever channel it names: one alert, one message. A delivery for
        a subscribed channel (`fan_out`) is the same alert only in that channel (named as a delivery
        named it, or where Slack posted its message): each subscribed channel gets it once, and a
        channel that has it from the webhook gets nothing more. A recovery that leaves the
        group with no firing alert brings its next update forward to `debounce` after the last one
        (an update postponed for pacing would otherwise show the final state late).
        """
        async with self._write() as conn:
            return await self._record(conn, ToRecord(delivered, channel, debounce, fan_out))

    async def record_alerts(self, items: Sequence[ToRecord]) -> list[Recorded]:
        """Record several deliveries in one transaction (each as `record_alert` would), their answers in
        order. They are written in the order of their alert's key (the order of the deliveries of one
        alert kept), so that two such transactions, on two replicas, take their rows' locks in the same
        order and cannot deadlock on each other. All are committed together, or none is."""
        order = sorted(range(len(items)), key=lambda n: items[n].key)
        answers: dict[int, Recorded] = {}
        async with self._write() as conn:
            for n in order:
                answers[n] = await self._record(conn, items[n])
            ids = sorted({answer.group_id for answer in answers.values()})
            rows = await conn.execute(select(alert_groups).where(alert_groups.c.id.in_(ids)))
            groups = {row.id: _group(row) for row in rows}
        return [replace(answers[n], group=groups.get(answers[n].group_id)) for n in range(len(items))]

    async def _record(self, conn: AsyncConnection, item: ToRecord) -> Recorded:
        d, channel, debounce = item.delivered, item.channel, item.debounce
        key = (
            alert_messages.c.space == d.space,
            alert_messages.c.rule_id == d.rule_id,
            alert_messages.c.alert_id == d.alert_id,
            alert_messages.c.alert_uuid == d.alert_uuid,
        )
        now = utcnow()
        known = await self._known(conn, key, channel, fan_out=item.fan_out)
        if known is not None:
            return await self._again(conn, known, d, now, debounce)
        inserted = await conn.execute(
            self._insert(alert_messages)
            .values(
                space=d.space,
                rule_id=d.rule_id,
                alert_id=d.alert_id,
                alert_uuid=d.alert_uuid,
                channel=channel,
                claimed_at=now,
                action_group=d.action_group,
                reason=d.reason,
                started_at=d.date,
                recovered_at=d.date if d.recovered else None,
                recovery_reason=d.reason if d.recovered else None,
                muted=False,
                facts=d.facts,
            )
            .on_conflict_do_nothing()
            .returning(alert_messages.c.id)
        )
        row_id = inserted.scalar()
        if row_id is None:  # recorded meanwhile, by a delivery on another replica
            row = (await conn.execute(select(alert_messages).where(*key, alert_messages.c.channel == channel))).one()
            return await self._again(conn, row, d, now, debounce)
        group_id, version, first = await self._join_open_group(conn, d, channel, now)
        seqs: dict[str, Any] = {"group_id": group_id, "seq": version}
        if d.recovered:
            seqs["recovered_seq"] = version
        await conn.execute(update(alert_messages).where(alert_messages.c.id == row_id).values(**seqs))
        if d.recovered:
            await self._closing_soon(conn, group_id, now, debounce)
        outcome: Outcome = "recovered_new" if d.recovered else "new"
        return Recorded(outcome, group_id, version, first, d.recovered)

    async def _known(
        self, conn: AsyncConnection, key: tuple[ColumnElement[bool], ...], channel: str, *, fan_out: bool
    ) -> Any:
        """The row of the alert this delivery is about, when it is recorded (see `record_alert`)."""
        query = select(alert_messages).where(*key)
        if fan_out:
            posted_there = select(alert_groups.c.id).where(alert_groups.c.message_channel == channel)
            query = query.where(or_(alert_messages.c.channel == channel, alert_messages.c.group_id.in_(posted_there)))
        return (await conn.execute(query.order_by(alert_messages.c.id).limit(1))).first()

    async def _again(
        self, conn: AsyncConnection, row: Any, d: Delivered, now: datetime, debounce: timedelta
    ) -> Recorded:
        """A delivery of an alert already recorded: a duplicate, a change, or its recovery."""
        group_id = row.group_id
        if group_id is None:  # a message of the release before grouping: it becomes a group of one
            group_id = await self._adopt(conn, row, d, now)
            row = (await conn.execute(select(alert_messages).where(alert_messages.c.id == row.id))).one()
        shown_at = max(row.seq or 0, row.changed_seq or 0, row.recovered_seq or 0)
        recovered = row.recovered_at is not None
        if recovered or (not d.recovered and (row.action_group, row.reason or "") == (d.action_group, d.reason)):
            if d.facts is not None and d.facts != row.facts and not recovered:
                # What it carries changed (a value, a case linked): kept, and shown at the message's next
                # update; not a change of its own, or every run's new value would update the message.
                await conn.execute(update(alert_messages).where(alert_messages.c.id == row.id).values(facts=d.facts))
            first = await self._opened(conn, group_id, row.id)
            return Recorded("duplicate", group_id, shown_at, first, recovered)
        version = await self._bump(conn, group_id, now, d)
        if d.recovered:
            values: dict[str, Any] = {"recovered_at": d.date, "recovery_reason": d.reason, "recovered_seq": version}
            outcome: Outcome = "recovered"
        else:
            values = {"action_group": d.action_group, "reason": d.reason, "changed_seq": version}
            outcome = "changed"
        if d.facts is not None:
            values["facts"] = d.facts
        await conn.execute(update(alert_messages).where(alert_messages.c.id == row.id).values(**values))
        if d.recovered:
            await self._closing_soon(conn, group_id, now, debounce)
        return Recorded(outcome, group_id, version, False, d.recovered)

    async def _closing_soon(self, conn: AsyncConnection, group_id: int, now: datetime, debounce: timedelta) -> None:
        firing = await conn.execute(
            select(func.count()).where(alert_messages.c.group_id == group_id, alert_messages.c.recovered_at.is_(None))
        )
        if firing.scalar_one():
            return
        group = (
            await conn.execute(
                select(alert_groups.c.due_at, alert_groups.c.shown_at).where(alert_groups.c.id == group_id)
            )
        ).one()
        soonest = max(now, group.shown_at + debounce) if group.shown_at is not None else now
        if group.due_at > soonest:
            await conn.execute(update(alert_groups).where(alert_groups.c.id == group_id).values(due_at=soonest))

    async def _join_open_group(
        self, conn: AsyncConnection, d: Delivered, channel: str, now: datetime
    ) -> tuple[int, int, bool]:
        """The open group's id and new version (opening the group: version 1), and whether it was opened.

        An open group none of whose alerts fires any more is an episode that is over, waiting only for
        the publisher to show its last state (the debounce): it is closed here, and the delivery opens
        the rule's next episode, which starts from nothing the last one showed (a Mute all clicked
        then, for one). The closed group stays pending, so the publisher still shows its last state."""
        await self._close_if_over(conn, d, channel, now)
        open_now = (
            await conn.execute(
                select(alert_groups.c.id).where(
                    alert_groups.c.space == d.space,
                    alert_groups.c.rule_id == d.rule_id,
                    alert_groups.c.channel == channel,
                    alert_groups.c.closed_at.is_(None),
                )
            )
        ).scalar()
        if open_now is not None:  # a storm's every alert but the first: no INSERT tried in vain
            values: dict[str, Any] = {
                "version": alert_groups.c.version + 1,
                "updated_at": now,
                "rule_name": d.rule_name or alert_groups.c.rule_name,
                "tags": json.dumps(list(d.tags)),
            }
            joined = await conn.execute(  # still open: a publisher may have closed it since the SELECT
                update(alert_groups)
                .where(alert_groups.c.id == open_now, alert_groups.c.closed_at.is_(None))
                .values(**values)
                .returning(alert_groups.c.version)
            )
            version = joined.scalar()
            if version is not None:
                return open_now, int(version), False
        opened = await conn.execute(
            self._insert(alert_groups)
            .values(
                space=d.space,
                rule_id=d.rule_id,
                channel=channel,
                rule_name=d.rule_name,
                tags=json.dumps(list(d.tags)),
                rule_muted_all=False,
                rule_enabled=True,
                started_at=d.date,
                version=1,
                shown_version=0,
                logged_version=0,
                due_at=now,
                failures=0,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )
        found = (
            await conn.execute(
                select(alert_groups.c.id, alert_groups.c.version).where(
                    alert_groups.c.space == d.space,
                    alert_groups.c.rule_id == d.rule_id,
                    alert_groups.c.channel == channel,
                    alert_groups.c.closed_at.is_(None),
                )
            )
        ).one()
        if opened.rowcount == 1:
            return found.id, found.version, True
        return found.id, await self._bump(conn, found.id, now, d), False

    async def _close_if_over(self, conn: AsyncConnection, d: Delivered, channel: str, now: datetime) -> None:
        firing = select(alert_messages.c.id).where(
            alert_messages.c.group_id == alert_groups.c.id, alert_messages.c.recovered_at.is_(None)
        )
        await conn.execute(
            update(alert_groups)
            .where(
                alert_groups.c.space == d.space,
                alert_groups.c.rule_id == d.rule_id,
                alert_groups.c.channel == channel,
                alert_groups.c.closed_at.is_(None),
                ~firing.exists(),
            )
            .values(closed_at=now, updated_at=now)
        )

    async def _bump(self, conn: AsyncConnection, group_id: int, now: datetime, d: Delivered | None = None) -> int:
        """One more change to show; the newest delivery names the rule."""
        values: dict[str, Any] = {"version": alert_groups.c.version + 1, "updated_at": now}
        if d is not None:
            values["rule_name"] = d.rule_name or alert_groups.c.rule_name
            values["tags"] = json.dumps(list(d.tags))
        bumped = await conn.execute(
            update(alert_groups).where(alert_groups.c.id == group_id).values(**values).returning(alert_groups.c.version)
        )
        return int(bumped.scalar_one())

    async def _opened(self, conn: AsyncConnection, group_id: int, alert_row: int) -> bool:
        oldest = await conn.execute(select(func.min(alert_messages.c.id)).where(alert_messages.c.group_id == group_id))
        return bool(oldest.scalar() == alert_row)

    async def _adopt(self, conn: AsyncConnection, row: Any, d: Delivered, now: datetime) -> int:
        """A group for a message posted before grouping: closed (new alerts open their own), shown."""
        made = await conn.execute(
            self._insert(alert_groups)
            .values(
                space=row.space,
                rule_id=row.rule_id,
                channel=row.channel,
                rule_name=d.rule_name,
                tags=json.dumps(list(d.tags)),
                rule_muted_all=False,
                rule_enabled=True,
                ts=row.ts,
                message_channel=row.channel if row.ts else None,
                started_at=row.claimed_at,
                closed_at=now,
                version=1,
                shown_version=1 if row.ts else 0,
                logged_version=1,
                due_at=now,
                failures=0,
                updated_at=now,
            )
            .returning(alert_groups.c.id)
        )
        group_id = int(made.scalar_one())
        recovered_seq = 1 if row.recovered_at is not None else None
        await conn.execute(
            update(alert_messages)
            .where(alert_messages.c.id == row.id)
            .values(
                group_id=group_id,
                seq=1,
                recovered_seq=recovered_seq,
                action_group=row.action_group or d.action_group,
                reason=row.reason if row.reason is not None else d.reason,
                started_at=row.started_at or row.claimed_at,
            )
        )
        return group_id

    # ---- reading ------------------------------------------------------------------------

    async def alert_group(self, group_id: int) -> AlertGroup | None:
        async with self._read() as conn:
            row = (await conn.execute(select(alert_groups).where(alert_groups.c.id == group_id))).first()
        return _group(row) if row is not None else None

    async def alert_group_at(self, *, channel: str, ts: str) -> AlertGroup | None:
        """The group whose message is at (channel, ts)."""
        query = select(alert_groups).where(alert_groups.c.message_channel == channel, alert_groups.c.ts == ts)
        async with self._read() as conn:
            row = (await conn.execute(query.order_by(alert_groups.c.id.desc()).limit(1))).first()
        return _group(row) if row is not None else None

    async def group_alert_with_uuid(self, group_id: int, alert_uuid: str) -> GroupAlert | None:
        """One alert of the group as its message shows it (its facts, when it recovered), by Kibana's uuid."""
        query = (
            select(alert_messages)
            .where(alert_messages.c.group_id == group_id, alert_messages.c.alert_uuid == alert_uuid)
            .order_by(alert_messages.c.id.desc())
            .limit(1)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return _alert(row) if row is not None else None

    async def alert_group_snapshot(
        self, group_id: int, *, newest: int = 100, changes: int = 20
    ) -> GroupSnapshot | None:
        in_group = alert_messages.c.group_id == group_id
        async with self._read() as conn:
            row = (await conn.execute(select(alert_groups).where(alert_groups.c.id == group_id))).first()
            if row is None:
                return None
            group = _group(row)
            since, upto = group.logged_version + 1, group.version
            joined = alert_messages.c.seq.between(since, upto)
            left = alert_messages.c.recovered_seq.between(since, upto)
            firing = func.sum(case((alert_messages.c.recovered_at.is_(None), 1), else_=0))
            recovered = func.sum(case((alert_messages.c.recovered_at.is_not(None), 1), else_=0))
            joined_n = func.sum(case((joined, 1), else_=0))
            left_n = func.sum(case((left, 1), else_=0))
            counts = (await conn.execute(select(firing, recovered, joined_n, left_n).where(in_group))).one()
            newest_rows = await conn.execute(
                select(alert_messages).where(in_group).order_by(alert_messages.c.id.desc()).limit(newest)
            )
            joined_rows = await conn.execute(
                select(alert_messages).where(in_group, joined).order_by(alert_messages.c.id).limit(changes)
            )
            left_rows = await conn.execute(
                select(alert_messages)
                .where(in_group, left)
                .order_by(alert_messages.c.recovered_seq, alert_messages.c.id)
                .limit(changes)
            )
            return GroupSnapshot(
                group=group,
                firing=int(counts[0] or 0),
                recovered=int(counts[1] or 0),
                newest=tuple(_alert(r) for r in newest_rows),
                joined=tuple(_alert(r) for r in joined_rows),
                left=tuple(_alert(r) for r in left_rows),
                joined_total=int(counts[2] or 0),
                left_total=int(counts[3] or 0),
                claim=await claim_of(conn, group_id),
            )

    # ---- what buttons change --------------------------------------------------------------

    async def change_alert_group(
        self,
        group_id: int,
        *,
        rule_muted_all: bool | None = None,
        rule_enabled: bool | None = None,
        muted_alert: tuple[str, bool] | None = None,
    ) -> None:
        """A button changed the rule or one alert: store it and have the message shown again."""
        now = utcnow()
        async with self._write() as conn:
            if muted_alert is not None:
                alert_id, muted = muted_alert
                await conn.execute(
                    update(alert_messages)
                    .where(alert_messages.c.group_id == group_id, alert_messages.c.alert_id == alert_id)
                    .values(muted=muted)
                )
            values: dict[str, Any] = {"version": alert_groups.c.version + 1, "updated_at": now}
            if rule_muted_all is not None:
                values["rule_muted_all"] = rule_muted_all
            if rule_enabled is not None:
                values["rule_enabled"] = rule_enabled
            await conn.execute(update(alert_groups).where(alert_groups.c.id == group_id).values(**values))
