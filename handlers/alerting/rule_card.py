"""How rules look in Slack: the `rules` list and the `rule` card with its buttons."""

from __future__ import annotations

from datetime import datetime

from bot.kibana.models import Rule, RulePage
from handlers.shared import catalog
from handlers.shared.blocks import Block, actions, button, code, context, divider, escape, header, section
from handlers.shared.buttons import RuleState, link, rule_elements
from handlers.shared.codec import Target
from handlers.shared.words import count

MAX_LISTED = 15  # 3 blocks each stays far below Slack's 50 blocks a message


def rule_state(rule: Rule) -> str:
    parts = ["enabled" if rule.enabled else "*disabled*"]
    if rule.mute_all:
        parts.append("all alerts muted")
    elif rule.muted_alert_ids:
        parts.append(f"{count(len(rule.muted_alert_ids), 'alert')} muted")
    if rule.is_snoozed_until:
        parts.append(f"snoozed until {_when(rule.is_snoozed_until)}")
    parts.append(f"{count(rule.active_alerts, 'active alert')}")
    status = getattr(rule.execution_status, "status", None)
    if status:
        parts.append(f"last run: {escape(str(status))}")
    return " · ".join(parts)


def _when(value: datetime | str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return escape(str(value))


def rule_list_blocks(page: RulePage, *, search: str, space: str) -> list[Block]:
    what = f"matching “{escape(search)}”" if search else "in this space"
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
                accessory=button("Details", catalog.RULE_SHOW, target.pack()),
            )
        )
        if tags:
            blocks.append(context(f"{escape(rule.rule_type_id)} · {tags}"))
    return blocks


def rule_buttons(rule: Rule, space: str, *, rule_url: str) -> Block:
    state = RuleState(muted_all=rule.mute_all, enabled=rule.enabled)
    elements = rule_elements(Target(rule_id=rule.id, space=space), rule.name, state)
    return actions(*elements, link(rule_url), block_id="rule_actions")


def rule_card_blocks(rule: Rule, *, space: str, rule_url: str) -> list[Block]:
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
        section(rule_state(rule), fields=fields),
        rule_buttons(rule, space, rule_url=rule_url),
    ]
    if rule.snooze_schedule:
        ids = ", ".join(f"{code(sid)}" for sid in (s.id for s in rule.snooze_schedule) if sid)
        if ids:
            blocks.append(context(f"Snooze schedules: {ids} — cancel with `unsnooze {escape(rule.id)} <id>`"))
    blocks.append(divider())
    return blocks
