"""Every menu and button the bot makes fits Slack's limits, whatever the ids: checked with slack_sdk's
own Block Kit models (an option's value at most 150 characters, a button's 2,000) for the longest ids
the bot accepts — a 255-character rule id, a 512-character alert id, a 255-character uuid and a
100-character space."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, Option

from bot.kibana.models import Rule, RulePage
from handlers.alerting.buttons import RuleState, rule_elements, snooze_menu
from handlers.alerting.rule_card import rule_card_blocks, rule_list_blocks
from handlers.alerting.target import AlertReference, Target
from handlers.alerts.message import AlertView, alert_blocks

RULE = "r" + "0123456789" * 25 + "abcd"
ALERT = "a" * 512
UUID = "u" * 255
SPACE = "s" * 100


def checked(node: object) -> None:
    """slack_sdk validates an object's own attributes only (and keeps a menu's options as dicts): every
    nested one is validated here."""
    if isinstance(node, JsonObject):
        node.validate_json()  # raises SlackObjectFormationError past any limit
        for name in node.attributes:
            value = getattr(node, name, None)
            if name == "options" and isinstance(value, list):
                value = Option.parse_all(value)
            checked(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            checked(item)


def validated(blocks: list[dict]) -> list[dict]:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        checked(parsed)
    return blocks


def test_the_check_reaches_a_menu_option() -> None:
    long_option = {"text": {"type": "plain_text", "text": "a"}, "value": "v" * 151}
    menu = {"type": "static_select", "action_id": "x", "placeholder": {"type": "plain_text", "text": "a"}}
    with pytest.raises(SlackObjectFormationError, match="150"):
        validated([{"type": "actions", "elements": [{**menu, "options": [long_option]}]}])


def elements(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def view(row: int | None) -> AlertView:
    return AlertView(
        rule_id=RULE,
        rule_name="Long",
        space=SPACE,
        alert_id=ALERT,
        alert_uuid=UUID,
        action_group="default",
        rule_url="https://kibana.example.com/s/x/app/rules/r",
        date=datetime(2025, 3, 4, tzinfo=UTC),
        row=row,
    )


def test_the_longest_ids_fit_an_alert_message() -> None:
    assert len(RULE) == 255
    blocks = validated(alert_blocks(view(row=42)))
    menu = next(e for e in elements(blocks) if e["action_id"] == "rule_snooze")
    assert menu["type"] == "static_select"
    choices = [AlertReference.unpack(o["value"]) for o in menu["options"]]
    assert [(c.row, c.option) for c in choices] == [(42, "1h"), (42, "4h"), (42, "1d"), (42, "custom")]
    assert all(len(e.get("value", "")) <= 2000 for e in elements(blocks))


def test_without_a_row_a_long_rule_is_snoozed_through_the_form() -> None:
    blocks = validated(alert_blocks(view(row=None)))
    snooze = next(e for e in elements(blocks) if e["action_id"] == "rule_snooze")
    assert snooze["type"] == "button"
    assert Target.unpack(snooze["value"]) == Target(rule_id=RULE, space=SPACE, option="custom")


def test_the_rule_card_and_the_rules_list_of_the_longest_rule_id_fit() -> None:
    rule = Rule.model_validate(
        {
            "id": RULE,
            "name": "Long",
            "rule_type_id": ".index-threshold",
            "enabled": True,
            "mute_all": False,
            "tags": [],
            "muted_alert_ids": [],
            "schedule": {"interval": "1m"},
            "params": {},
            "consumer": "alerts",
        }
    )
    card = validated(rule_card_blocks(rule, space=SPACE, rule_url="https://kibana.example.com/r"))
    assert next(e for e in elements(card) if e["action_id"] == "rule_snooze")["type"] == "button"
    page = RulePage(page=1, per_page=15, total=1, data=[rule])
    listed = validated(rule_list_blocks(page, search="", space=SPACE))
    details = [b["accessory"] for b in listed if "accessory" in b]
    assert [Target.unpack(d["value"]).rule_id for d in details] == [RULE]


@pytest.mark.parametrize("rule_id", ["r1", RULE])
def test_short_ids_keep_their_menu_and_every_value_fits(rule_id: str) -> None:
    target = Target(rule_id=rule_id, space=SPACE)
    blocks = validated([{"type": "actions", "elements": rule_elements(target, None, RuleState(), row=7)}])
    assert elements(blocks)[-1]["type"] == "static_select"
    assert snooze_menu(Target(rule_id="r1"))["options"][0]["value"] == Target(rule_id="r1", option="1h").pack()
