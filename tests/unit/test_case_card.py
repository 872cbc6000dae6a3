"""The case card's Block Kit and the thread's lines for a case's Kibana activity (issue 28)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.kibana.models.case_activity import CaseUserAction
from handlers.cases.card import CardValue, CaseCard
from handlers.cases.sync_from_kibana import describe
from handlers.shared.codec import ForgedValue


def card(**changes: Any) -> CaseCard:
    values: dict[str, Any] = {
        "link_id": 7,
        "title": "Checkout <!channel> slow",
        "url": "https://kibana.example.com/app/management/insightsAndAlerting/cases/c1",
        "status": "in-progress",
        "severity": "critical",
        "syncing": False,
        "days": 14,
    }
    return CaseCard(**{**values, **changes})


@pytest.mark.parametrize("syncing", [False, True])
def test_the_card_is_valid_block_kit_showing_the_case(syncing: bool) -> None:
    blocks = card(syncing=syncing).blocks()
    for block in Block.parse_all(blocks):
        block.validate_json()  # slack_sdk's Block Kit models
    shown = str(blocks)
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown  # the title is escaped
    assert "In progress" in shown and "Critical" in shown
    assert ("Stop syncing" in shown) is syncing and ("Sync this thread" in shown) is not syncing
    assert "Edits and deletions of replies are not mirrored" in shown and "14 days" in shown
    menus = [e for b in blocks for e in b.get("elements", []) if e.get("type") == "static_select"]
    assert [CardValue.unpack(m["initial_option"]["value"]).to for m in menus] == ["in-progress", "critical"]
    assert all(len(o["value"]) <= 150 for m in menus for o in m["options"])  # Slack's limit of an option value


@pytest.mark.parametrize("text", ["", "{}", '{"l": 0}', '{"l": 7, "v": "x", "extra": 1}', "not json"])
def test_a_card_value_the_bot_did_not_make_is_refused(text: str) -> None:
    with pytest.raises(ForgedValue):
        CardValue.unpack(text)


def action(kind: str, payload: dict[str, Any], act: str = "update", **extra: Any) -> CaseUserAction:
    return CaseUserAction.model_validate(
        {
            "id": "a1",
            "action": act,
            "type": kind,
            "created_at": datetime(2026, 12, 6, tzinfo=UTC).isoformat(),
            "created_by": {"username": "carol", "full_name": "Carol <@U1>", "email": None},
            "payload": payload,
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("kind", "act", "payload", "line"),
    [
        ("status", "update", {"status": "closed"}, "closed the case in Kibana"),
        ("status", "update", {"status": "in-progress"}, "set the case's status to *In progress* in Kibana"),
        ("severity", "update", {"severity": "high"}, "set the case's severity to *High* in Kibana"),
        ("assignees", "add", {"assignees": [{"uid": "u1"}, {"uid": "u2"}]}, "assigned 2 people to the case"),
        ("assignees", "delete", {"assignees": [{"uid": "u1"}]}, "unassigned 1 person from the case"),
        ("comment", "create", {"comment": {"type": "user", "comment": "a\nb <@U2>", "owner": "cases"}},
         "commented on the case in Kibana:\n>a\n>b &lt;@U2&gt;"),
        ("comment", "create", {"comment": {"type": "alert", "alertId": ["x", "y"], "owner": "cases"}},
         "attached 2 alerts to the case"),
    ],
)  # fmt: skip
def test_each_kind_of_activity_has_its_line_naming_who(kind: str, act: str, payload: dict[str, Any], line: str) -> None:
    said = describe(action(kind, payload, act))
    assert said is not None and line in said
    assert "*Carol &lt;@U1&gt;*" in said  # who, escaped


@pytest.mark.parametrize(
    ("kind", "act", "payload"),
    [
        ("comment", "update", {"comment": {"type": "user", "comment": "edited"}}),
        ("comment", "delete", {}),
        ("title", "update", {"title": "t"}),
        ("tags", "add", {"tags": ["x"]}),
    ],
)
def test_edits_deletions_and_other_changes_are_not_posted(kind: str, act: str, payload: dict[str, Any]) -> None:
    assert describe(action(kind, payload, act)) is None
