"""How rules look in Slack: the `rules` list and the `rule` card with its buttons."""

from __future__ import annotations

from datetime import datetime

from bot.kibana.models import Rule, RulePage
from handlers import values
from handlers.blocks import Block, actions, button, confirm, context, divider, escape, header, option, section

SNOOZE_CHOICES = (("1 hour", "1h"), ("4 hours", "4h"), ("1 day", "1d"), ("Custom…", "custom"))
MAX_LISTED = 15  # 3 blocks each stays far below Slack's 50 blocks a message


def rule_state(rule: Rule) -> str:
    parts = ["enabled" if rule.enabled else "*disabled*"]
    if rule.mute_all:
        parts.append("all alerts muted")
    elif rule.muted_alert_ids:
        parts.append(f"{len(rule.muted_alert_ids)} alert(s) muted")
    if rule.is_snoozed_until:
        parts.append(f"snoozed until {_when(rule.is_snoozed_until)}")
    parts.append(f"{rule.active_alerts} active alert(s)")
    status = getattr(rule.execution_status, "status", None)
    if status:
        parts.append(f"last run: {status}")
    return " · ".join(parts)


def _when(value: datetime | str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def rule_list_blocks(page: RulePage, *, search: str, space: str) -> list[Block]:
    what = f"matching “{escape(search)}”" if search else "in this space"
    blocks: list[Block] = [
        section(
            f"*{page.total} rule(s) {what}* (space `{space}`)"
            + (f", showing the first {MAX_LISTED}" if page.total > MAX_LISTED else "")
        )
    ]
    if not page.data:
        blocks.append(context("Try other words, or `--space <id>` for another Kibana space."))
    for rule in page.data[:MAX_LISTED]:
        target = values.Target(rule_id=rule.id, space=space)
        tags = " ".join(f"`{escape(t)}`" for t in rule.tags[:8])
        blocks.append(
            section(
                f"*{escape(rule.name)}*  `{rule.id}`\n{rule_state(rule)}",
                accessory=button("Details", values.RULE_SHOW, target.encode()),
            )
        )
        if tags:
            blocks.append(context(f"{escape(rule.rule_type_id)} · {tags}"))
    return blocks


def rule_buttons(rule: Rule, space: str, *, rule_url: str) -> Block:
    target = values.Target(rule_id=rule.id, space=space).encode()
    elements: list[Block] = []
    if rule.mute_all:
        elements.append(button("Unmute all", values.RULE_UNMUTE_ALL, target))
    else:
        elements.append(
            button(
                "Mute all",
                values.RULE_MUTE_ALL,
                target,
                confirm=confirm(
                    "Mute all alerts?",
                    f"No notifications for any alert of *{escape(rule.name)}* until someone unmutes it.",
                    "Mute all",
                ),
            )
        )
    if rule.enabled:
        elements.append(button("Disable…", values.RULE_DISABLE, target, style="danger"))
    else:
        elements.append(button("Enable", values.RULE_ENABLE, target, style="primary"))
    elements.append(snooze_menu(rule.id, space))
    elements.append(button("Open in Kibana", values.RULE_LINK, url=rule_url))
    return actions(*elements, block_id="rule_actions")


def snooze_menu(rule_id: str, space: str) -> Block:
    return {
        "type": "static_select",
        "action_id": values.RULE_SNOOZE,
        "placeholder": {"type": "plain_text", "text": "Snooze…"},
        "options": [
            option(label, values.Target(rule_id=rule_id, space=space, option=duration).encode())
            for label, duration in SNOOZE_CHOICES
        ],
    }


def rule_card_blocks(rule: Rule, *, space: str, rule_url: str) -> list[Block]:
    fields = [
        f"*Id*\n`{rule.id}`",
        f"*Space*\n`{space}`",
        f"*Type*\n{escape(rule.rule_type_id)}",
        f"*Active alerts*\n{rule.active_alerts}",
    ]
    if rule.tags:
        fields.append("*Tags*\n" + " ".join(f"`{escape(t)}`" for t in rule.tags[:20]))
    if rule.muted_alert_ids:
        fields.append("*Muted alerts*\n" + ", ".join(f"`{escape(a)}`" for a in rule.muted_alert_ids[:20]))
    blocks = [
        header(rule.name),
        section(rule_state(rule), fields=fields),
        rule_buttons(rule, space, rule_url=rule_url),
    ]
    if rule.snooze_schedule:
        ids = ", ".join(f"`{s.id}`" for s in rule.snooze_schedule if getattr(s, "id", None))
        if ids:
            blocks.append(context(f"Snooze schedules: {ids} — cancel with `unsnooze {rule.id} <id>`"))
    blocks.append(divider())
    return blocks
