"""How rules look in Slack: the `rules` list and the `rule` card with its buttons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.kibana.models import Rule, RulePage
from bot.store import KnownSnooze
from handlers.alerting.actions import RULE_SHOW
from handlers.alerting.buttons import RuleState, link, rule_elements
from handlers.alerting.target import Target
from handlers.shared.blocks import Block, actions, button, code, context, divider, escape, header, section
from handlers.shared.words import count

MAX_LISTED = 15  # 3 blocks each stays far below Slack's 50 blocks a message


def rule_state(rule: Rule, known_until: datetime | None = None) -> str:
    """`known_until`: the latest end of the snoozes the bot created (Kibana's public API may not say)."""
    parts = ["enabled" if rule.enabled else "*disabled*"]
    if rule.mute_all:
        parts.append("all alerts muted")
    elif rule.muted_alert_ids:
        parts.append(f"{count(len(rule.muted_alert_ids), 'alert')} muted")
    until = max((t for t in (rule.is_snoozed_until, known_until) if t is not None), default=None)
    if until is not None:
        parts.append(f"snoozed until {_when(until)}")
    parts.append(f"{count(rule.active_alerts, 'active alert')}")
    status = getattr(rule.execution_status, "status", None)
    if status:
        parts.append(f"last run: {escape(str(status))}")
    return " · ".join(parts)


def reported_until(rule: Rule, now: datetime) -> datetime | None:
    """The end of a one-off snooze that Kibana reports in `snooze_schedule` (9.3 keeps it in the public
    API) and that is running now; recurring schedules are left to Kibana's UI."""
    ends = []
    for snooze in rule.snooze_schedule:
        rrule = snooze.rrule
        if rrule.get("freq") is not None or rrule.get("count", 1) != 1 or not isinstance(rrule.get("dtstart"), str):
            continue
        try:
            start = datetime.fromisoformat(rrule["dtstart"].replace("Z", "+00:00"))
        except ValueError:
            continue
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        end = start + timedelta(milliseconds=snooze.duration)
        if start <= now < end:
            ends.append(end)
    return max(ends, default=None)


def _when(value: datetime | str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return escape(str(value))


def rule_list_blocks(page: RulePage, *, search: str, space: str) -> list[Block]:
    what = f"matching {code(search)}" if search else "in this space"
    blocks: list[Block] = [
        section(
            f"*{count(page.total, 'rule')} {what}* (space `{space}`)"
            + (f", showing the first {MAX_LISTED}" if page.total > MAX_LISTED else "")
        )
    ]
    if not page.data:
        blocks.append(context("Try other words, or `--space <id>` for another Kibana space."))
    for rule in page.data[:MAX_LISTED]:
        target = Target(rule_id=rule.id, space=space)
        tags = " ".join(f"{code(t)}" for t in rule.tags[:8])
        blocks.append(
            section(
                f"*{escape(rule.name)}*  {code(rule.id)}\n{rule_state(rule)}",
                accessory=button("Details", RULE_SHOW, target.pack()),
            )
        )
        if tags:
            blocks.append(context(f"{escape(rule.rule_type_id)} · {tags}"))
    return blocks


def rule_buttons(rule: Rule, space: str, *, rule_url: str, snooze_api: bool = True) -> Block:
    state = RuleState(muted_all=rule.mute_all, enabled=rule.enabled, snooze_api=snooze_api)
    elements = rule_elements(Target(rule_id=rule.id, space=space), rule.name, state)
    return actions(*elements, link(rule_url), block_id="rule_actions")


def rule_card_blocks(
    rule: Rule,
    *,
    space: str,
    rule_url: str,
    snooze_api: bool = True,
    known_snoozes: Sequence[KnownSnooze] = (),
    now: datetime | None = None,
) -> list[Block]:
    """`known_snoozes`: the rule's schedules the bot created; those not yet over show as "snoozed until"."""
    moment = now or datetime.now(UTC)
    running = [s for s in known_snoozes if s.ends_at > moment]
    ends = [s.ends_at for s in running]
    if (reported := reported_until(rule, moment)) is not None:
        ends.append(reported)
    known_until = max(ends, default=None)
    fields = [
        f"*Id*\n{code(rule.id)}",
        f"*Space*\n`{space}`",
        f"*Type*\n{escape(rule.rule_type_id)}",
        f"*Active alerts*\n{rule.active_alerts}",
    ]
    if rule.tags:
        fields.append("*Tags*\n" + " ".join(f"{code(t)}" for t in rule.tags[:20]))
    if rule.muted_alert_ids:
        fields.append("*Muted alerts*\n" + ", ".join(f"{code(a)}" for a in rule.muted_alert_ids[:20]))
    blocks = [
        header(rule.name),
        section(rule_state(rule, known_until), fields=fields),
        rule_buttons(rule, space, rule_url=rule_url, snooze_api=snooze_api),
    ]
    schedule_ids = list(
        dict.fromkeys([*(s.schedule_id for s in running), *(s.id for s in rule.snooze_schedule if s.id)])
    )
    if schedule_ids:
        ids = ", ".join(code(sid) for sid in schedule_ids)
        blocks.append(
            context(
                f"Snooze schedules: {ids} — cancel with `unsnooze {escape(rule.id)} <id>`, "
                f"or all with `unsnooze {escape(rule.id)}`"
            )
        )
    blocks.append(divider())
    return blocks
