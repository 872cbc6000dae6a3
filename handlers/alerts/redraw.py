"""Re-drawing an alert message after a button (answered by the alerting feature) acted on it.

A group's message is drawn from the store, after the change the button made is stored there
(and the group marked pending, so the publisher's next update shows it too); a message posted
before alerts were grouped is drawn from the alert it showed, kept beside it.
"""

from __future__ import annotations

from typing import Protocol

from bot.services import Services
from handlers.alerting.writes import Written
from handlers.alerts.group_message import render
from handlers.alerts.message import alert_blocks, alert_text, load, save
from handlers.shared.blocks import Block
from handlers.shared.outcome import Done, MessageRenderer


def renderer(services: Services, publisher: Wakeable) -> MessageRenderer:
    """Re-draws an alert message (one alert, or a rule's group) after a button acted on it."""

    async def render_stored(
        channel: str, ts: str, new_lines: list[str], done: Done | None
    ) -> tuple[list[Block], str] | None:
        group = await services.store.alert_group_at(channel=channel, ts=ts)
        if group is not None:
            return await _render_group(services, publisher, group.id, channel, ts, new_lines, done)
        loaded = await load(services, channel, ts)  # a message posted before alerts were grouped
        if loaded is None:
            return None
        view, lines = loaded
        if isinstance(done, Written) and (changed := view.after(done)) is not view:
            view = changed
            await save(services, channel, ts, view)
        if new_lines:
            updated = await services.store.add_alert_status_lines(channel=channel, ts=ts, lines=new_lines)
            lines = updated.status_lines if updated is not None else (*lines, *new_lines)
        current = services.profile.current
        blocks = alert_blocks(view, lines, snooze_api=current.snooze, alert_snooze=current.alert_snooze)
        return blocks, alert_text(view)

    return render_stored


class Wakeable(Protocol):
    def wake(self) -> None: ...


async def _render_group(
    services: Services,
    publisher: Wakeable,
    group_id: int,
    channel: str,
    ts: str,
    new_lines: list[str],
    done: Done | None,
) -> tuple[list[Block], str] | None:
    store = services.store
    group = await store.alert_group(group_id)
    if group is None:
        return None
    if isinstance(done, Written) and (done.target.rule_id, done.target.space) == (group.rule_id, group.space):
        rule = done.change.rule_fields()
        muted = done.change.alert_muted
        alert = (done.target.alert_id, muted) if muted is not None and done.target.alert_id else None
        if rule or alert:
            # stored first, and the group marked pending: the publisher shows it again, so the last
            # state lands even if one of its updates raced this one
            await store.change_alert_group(group_id, muted_alert=alert, **rule)
            publisher.wake()
    lines: tuple[str, ...] = ()
    if new_lines:
        updated = await store.add_alert_status_lines(channel=channel, ts=ts, lines=new_lines)
        lines = updated.status_lines if updated is not None else tuple(new_lines)
    else:
        stored = await store.get_alert_content(channel=channel, ts=ts)
        lines = stored.status_lines if stored is not None else ()
    snapshot = await store.alert_group_snapshot(group_id)
    if snapshot is None:
        return None
    return render(services, snapshot, lines)
