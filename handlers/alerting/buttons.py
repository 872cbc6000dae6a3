"""The buttons of the rule and alert writes, as the rule card and alert messages show them: only
what applies to the current state (a write's button shows while pressing it would change
something: Mute all or Unmute all, Disable… or Enable, Mute alert or Unmute alert), and the Snooze
menu only where Kibana has a snooze API."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.alerting import mute_end, writes
from handlers.alerting.actions import ALERT_MUTE_FOR, RULE_LINK, RULE_SNOOZE
from handlers.alerting.target import CUSTOM, Target, fits_an_option, option_value
from handlers.alerting.writes import StateChange, Write
from handlers.shared.blocks import Block, button, code, confirm, escape, option

SNOOZE_CHOICES = (("1 hour", "1h"), ("4 hours", "4h"), ("1 day", "1d"), ("Custom…", CUSTOM))

RULE_WRITES = tuple(w for w in writes.WRITES if w.button is not None and not w.of_alert)
ALERT_WRITES = tuple(w for w in writes.WRITES if w.button is not None and w.of_alert)


@dataclass(frozen=True)
class RuleState:
    """What the rule-level buttons depend on."""

    muted_all: bool = False
    enabled: bool = True
    snooze_api: bool = True  # False on Kibanas without the snooze API (before 8.19, 9.0): no Snooze menu

    def changed_by(self, change: StateChange) -> bool:
        return change.rule_muted_all not in (None, self.muted_all) or change.rule_enabled not in (None, self.enabled)


def rule_elements(target: Target, rule_name: str | None, state: RuleState, *, row: int | None = None) -> list[Block]:
    """The buttons of the rule writes that apply, and the snooze menu, for the rule `target` names.
    `rule_name` is the name Kibana gave (from a GET of the rule); without it the rule is named by id.
    `row`: the store's row of an alert of the message, which the snooze menu's options may name when
    the rule's id is too long for them (see `snooze_menu`)."""
    value = target.rule().pack()
    named = f"*{escape(rule_name)}*" if rule_name else f"rule {code(target.rule_id)}"
    elements = [_button(w, value, named) for w in RULE_WRITES if state.changed_by(w.change)]
    if state.snooze_api:
        elements.append(snooze_menu(target, row=row))
    return elements


def alert_element(target: Target, *, muted: bool) -> Block:
    """Mute alert, or Unmute alert when it is muted."""
    shown = next(w for w in ALERT_WRITES if w.change.alert_muted is not muted)
    return _button(shown, target.pack(), f"alert {code(target.alert_id or '')}")


def mute_menu(target: Target, *, row: int | None = None, until_worse: bool = False) -> Block | None:
    """Mute for…: 1 hour, 4 hours, until 09:00 tomorrow (TZ), and until it gets worse where Kibana
    has the alert snooze (9.5+). Each option carries the alert and its end; an alert too long for an
    option's 150 characters is named by its row (`row`); without one, no menu (`mute … for` still works)."""
    choices = [*mute_end.MENU, mute_end.MENU_WORSE] if until_worse else list(mute_end.MENU)
    if row is None and not all(fits_an_option(target.model_copy(update={"option": spec})) for _, spec in choices):
        return None
    return {
        "type": "static_select",
        "action_id": ALERT_MUTE_FOR,
        "placeholder": {"type": "plain_text", "text": "Mute for…"},
        "options": [
            option(label, option_value(target.model_copy(update={"option": spec}), row)) for label, spec in choices
        ],
    }


def alert_menu(write: Write, options: list[Block]) -> Block:
    """A menu of alerts for one alert write: a group message's "Mute one alert…"."""
    assert write.button is not None
    return {
        "type": "static_select",
        "action_id": write.action.action_ids[0],
        "placeholder": {"type": "plain_text", "text": write.button.menu or write.button.label},
        "options": options,
    }


def _button(write: Write, value: str, named: str) -> Block:
    assert write.button is not None
    look = write.button
    sure = None
    if look.confirm is not None:
        sure = confirm(look.confirm.title, look.confirm.text.format(rule=named), look.confirm.ok)
    return button(look.label, write.action.action_ids[0], value, style=look.style, confirm=sure)


def snooze_menu(target: Target, *, row: int | None = None) -> Block:
    """The Snooze menu. An option's value is at most 150 characters: for a rule whose id is too long
    for that, each option names the alert row `row` instead (a sealed reference, as a group message's
    alert menus do); without a row (the rule card) it is a *Snooze…* button that opens the snooze form
    (a button's value carries 2,000)."""
    choices = [
        (label, Target(rule_id=target.rule_id, space=target.space, option=duration))
        for label, duration in SNOOZE_CHOICES
    ]
    if row is None and not all(fits_an_option(choice) for _, choice in choices):
        return button("Snooze…", RULE_SNOOZE, Target(rule_id=target.rule_id, space=target.space, option=CUSTOM).pack())
    return {
        "type": "static_select",
        "action_id": RULE_SNOOZE,
        "placeholder": {"type": "plain_text", "text": "Snooze…"},
        "options": [option(label, option_value(choice, row)) for label, choice in choices],
    }


def link(url: str) -> Block:
    return button("Open in Kibana", RULE_LINK, url=url)
