"""The buttons of the catalog's rule and alert actions, as the rule card and alert messages show
them: only what applies to the current state (Mute all or Unmute all, Disable… or Enable,
Mute alert or Unmute alert, and the Snooze menu only where Kibana has a snooze API)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.alerting import actions
from handlers.alerting.target import Target
from handlers.shared.blocks import Block, button, code, confirm, escape, option

SNOOZE_CHOICES = (("1 hour", "1h"), ("4 hours", "4h"), ("1 day", "1d"), ("Custom…", "custom"))


@dataclass(frozen=True)
class RuleState:
    """What the rule-level buttons depend on."""

    muted_all: bool = False
    enabled: bool = True
    snooze_api: bool = True  # False on Kibanas without the snooze API (before 8.19, 9.0): no Snooze menu


def rule_elements(target: Target, rule_name: str | None, state: RuleState) -> list[Block]:
    """Mute all / Unmute all, Disable… / Enable, and the snooze menu, for the rule `target` names.
    `rule_name` is the name Kibana gave (from a GET of the rule); without it the rule is named by id."""
    value = Target(rule_id=target.rule_id, space=target.space).pack()
    elements: list[Block] = []
    if state.muted_all:
        elements.append(button("Unmute all", actions.RULE_UNMUTE_ALL, value))
    else:
        named = f"*{escape(rule_name)}*" if rule_name else f"rule {code(target.rule_id)}"
        sure = confirm(
            "Mute all alerts?",
            f"No notifications for any alert of {named} until someone unmutes it.",
            "Mute all",
        )
        elements.append(button("Mute all", actions.RULE_MUTE_ALL, value, confirm=sure))
    if state.enabled:
        elements.append(button("Disable…", actions.RULE_DISABLE, value, style="danger"))
    else:
        elements.append(button("Enable", actions.RULE_ENABLE, value, style="primary"))
    if state.snooze_api:
        elements.append(snooze_menu(target))
    return elements


def alert_element(target: Target, *, muted: bool) -> Block:
    """Mute alert, or Unmute alert when it is muted."""
    if muted:
        return button("Unmute alert", actions.ALERT_UNMUTE, target.pack())
    return button("Mute alert", actions.ALERT_MUTE, target.pack())


def snooze_menu(target: Target) -> Block:
    return {
        "type": "static_select",
        "action_id": actions.RULE_SNOOZE,
        "placeholder": {"type": "plain_text", "text": "Snooze…"},
        "options": [
            option(label, Target(rule_id=target.rule_id, space=target.space, option=duration).pack())
            for label, duration in SNOOZE_CHOICES
        ],
    }


def link(url: str) -> Block:
    return button("Open in Kibana", actions.RULE_LINK, url=url)
