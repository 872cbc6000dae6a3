"""How a rule's alerts look in Slack: its own alert message while it has one, the group message after.

One alert: exactly the alert message (handlers.alerts.message). More: one message per rule, space
and channel with the firing and recovered counts, the newest alerts, when the episode started, the
rule's buttons and a menu to mute (or unmute) one alert; the thread keeps a compact log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services import Services
from bot.store.alert_groups import AlertGroup, GroupAlert, GroupSnapshot
from handlers.alerting.buttons import ALERT_WRITES, alert_menu
from handlers.alerting.target import Target, option_value
from handlers.alerts.card_facts import CardFacts, linked
from handlers.alerts.claim import claim_blocks
from handlers.alerts.message import ALERT_BLOCK, RULE_BLOCK, AlertView, alert_blocks, alert_text, rule_buttons
from handlers.shared.blocks import Block, actions, clip, code, context, escape, header, option, section
from handlers.shared.outcome import MAX_STATUS_LINES, STATUS_BLOCK
from handlers.shared.words import count

OPTION_TEXT_LIMIT = 75  # characters: Slack's limit for a menu option's text
MENU_LIMIT = 100  # options in a static_select
NEWEST_SHOWN = 5  # alert ids named in the message
LOGGED_PER_LINE = 10  # alert ids named in one thread-log line
REASON_LIMIT = 1500


def rule_url(services: Services, group: AlertGroup) -> str:
    # Never a link from a delivery: built from KIBANA_PUBLIC_URL and the ids.
    return services.kibana.rule_url(group.rule_id, space=group.space, public_base=services.settings.kibana_link_base)


def alert_view(services: Services, group: AlertGroup, alert: GroupAlert) -> AlertView:
    """The one-alert message of `alert`, as the webhook path has always shown it."""
    return AlertView(
        rule_id=group.rule_id,
        rule_name=group.rule_name or group.rule_id,
        space=group.space,
        alert_id=alert.alert_id,
        alert_uuid=alert.alert_uuid,
        action_group=alert.action_group or "default",
        reason=alert.reason,
        rule_url=rule_url(services, group),
        tags=list(group.tags),
        summary=alert.alert_id == group.rule_id,
        date=alert.started_at,
        recovered_at=alert.recovered_at,
        recovery_reason=alert.recovery_reason,
        muted=alert.muted,
        rule_muted_all=group.rule_muted_all,
        rule_enabled=group.rule_enabled,
        row=alert.id,
        facts=linked(CardFacts.load(alert.facts), services.settings.kibana_link_base),
    )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(services: Services, snapshot: GroupSnapshot, status_lines: tuple[str, ...] = ()) -> tuple[list[Block], str]:
    """The blocks and notification text of the group's message as stored now."""
    group = snapshot.group
    snooze_api = services.profile.current.snooze
    if snapshot.total == 1 and snapshot.newest:
        view = alert_view(services, group, snapshot.newest[0])
        claimed = claim_blocks(view.target() if not view.summary else _rule(group), snapshot.claim, over=view.recovered)
        blocks = alert_blocks(
            view, status_lines, snooze_api=snooze_api, claim=claimed, alert_snooze=services.profile.current.alert_snooze
        )
        return blocks, alert_text(view)
    return _group_blocks(services, snapshot, status_lines, snooze_api=snooze_api), group_text(snapshot)


def _rule(group: AlertGroup) -> Target:
    return Target(rule_id=group.rule_id, space=group.space)


def group_text(snapshot: GroupSnapshot) -> str:
    name = snapshot.group.rule_name or snapshot.group.rule_id
    if snapshot.firing == 0:
        return clip(escape(f"Recovered: {name} — all {count(snapshot.total, 'alert')}"), 300)
    return clip(escape(f"{name}: {snapshot.firing} firing, {snapshot.recovered} recovered"), 300)


def _group_blocks(
    services: Services, snapshot: GroupSnapshot, status_lines: tuple[str, ...], *, snooze_api: bool
) -> list[Block]:
    group = snapshot.group
    name = group.rule_name or group.rule_id
    over = snapshot.firing == 0
    icon = ":white_check_mark:" if over else ":rotating_light:"
    firing = [a for a in snapshot.newest if a.recovered_at is None]
    newest = firing or list(snapshot.newest)
    shown = newest[:NEWEST_SHOWN]
    named = ", ".join(code(a.alert_id) for a in shown)
    more = (snapshot.firing if firing else snapshot.total) - len(shown)
    if more > 0:
        named += f" and {more} more"
    if over:
        summary = f"*All {count(snapshot.total, 'alert')} recovered.*"
    else:
        summary = f"*{snapshot.firing} firing* · {snapshot.recovered} recovered"
    latest = next((a for a in newest if a.reason), None)
    if latest is not None:
        summary += f"\nNewest: {code(latest.alert_id)} — {escape(clip(latest.reason, REASON_LIMIT))}"
    fields = [
        f"*Firing*\n{snapshot.firing}",
        f"*Recovered*\n{snapshot.recovered}",
        f"*{'Newest alerts' if firing else 'Alerts'}*\n{named}",
        f"*Started*\n{_utc(group.started_at)}",
        f"*Rule*\n{code(group.rule_id)}",
        f"*Space*\n{code(group.space)}",
    ]
    if group.tags:
        fields.append("*Tags*\n" + " ".join(code(t) for t in group.tags[:20]))
    blocks: list[Block] = [
        header(f"{icon} {'Recovered: ' if over else ''}{name}"),
        section(summary, fields=fields[:10], block_id="alert_summary"),
    ]
    blocks.extend(claim_blocks(_rule(group), snapshot.claim, over=over))
    menus = _alert_menus(group, firing)
    if menus:
        blocks.append(actions(*menus, block_id=ALERT_BLOCK))
    view = alert_view(services, group, snapshot.newest[0]) if snapshot.newest else None
    if view is not None:
        rule_only = Target(rule_id=group.rule_id, space=group.space)
        blocks.append(actions(*rule_buttons(view, rule_only, snooze_api=snooze_api), block_id=RULE_BLOCK))
    if status_lines:
        blocks.append(context(*list(status_lines)[-MAX_STATUS_LINES:], block_id=STATUS_BLOCK))
    blocks.append(
        context(
            f"{count(snapshot.total, 'alert')} since {_utc(group.started_at)} · log in the thread",
            block_id="alert_footer",
        )
    )
    return blocks


def _alert_menus(group: AlertGroup, firing: list[GroupAlert]) -> list[Block]:
    """A menu to mute one firing alert, and one to unmute a muted one (the newest 100 of each): one
    menu per alert write, listing the alerts it would change."""
    menus: list[Block] = []
    for write in ALERT_WRITES:
        options = []
        for alert in firing:
            if alert.muted == write.change.alert_muted:
                continue
            target = Target(
                rule_id=group.rule_id, space=group.space, alert_id=alert.alert_id, alert_uuid=alert.alert_uuid
            )
            options.append(option(_label(alert.alert_id), option_value(target, alert.id)))
            if len(options) == MENU_LIMIT:
                break
        if options:
            menus.append(alert_menu(write, options))
    return menus


def _label(alert_id: str) -> str:
    """An alert id as a menu option shows it: clipped in the middle, so that long ids sharing a
    beginning still differ by their ends."""
    if len(alert_id) <= OPTION_TEXT_LIMIT:
        return alert_id
    head = (OPTION_TEXT_LIMIT - 1) // 2
    return alert_id[:head] + "…" + alert_id[-(OPTION_TEXT_LIMIT - 1 - head) :]


def log_line(snapshot: GroupSnapshot, *, first_post: bool) -> str | None:
    """What changed since the thread log's last line; None when nothing is worth a line."""
    group = snapshot.group
    if first_post and snapshot.total == 1:
        return None  # the message is the alert itself
    if snapshot.total == 1 and snapshot.left_total == 1 and snapshot.joined_total == 0 and snapshot.left:
        alert = snapshot.left[0]
        moment = (alert.recovered_at or datetime.now(UTC)).astimezone(UTC).strftime("%H:%M UTC")
        return f":white_check_mark: Alert {code(alert.alert_id)} of rule {code(group.rule_id)} recovered at {moment}."
    parts = []
    if snapshot.joined_total:
        parts.append(
            f":rotating_light: {snapshot.joined_total} firing: " + _ids(snapshot.joined, snapshot.joined_total)
        )
    if snapshot.left_total:
        parts.append(f":white_check_mark: {snapshot.left_total} recovered: " + _ids(snapshot.left, snapshot.left_total))
    if not parts:
        return None
    line = " · ".join(parts)
    if snapshot.firing == 0:
        every = count(snapshot.total, "alert")
        line += f"\nAll {every} of rule {code(group.rule_id)} have recovered; this episode is closed."
    return line


def _ids(alerts: tuple[GroupAlert, ...], total: int) -> str:
    named = ", ".join(code(a.alert_id) for a in alerts[:LOGGED_PER_LINE])
    return named + (f" and {total - LOGGED_PER_LINE} more" if total > LOGGED_PER_LINE else "")
