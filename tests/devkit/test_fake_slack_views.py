"""Modals on the fake: trigger_ids, views.open / push / update with hash conflicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack

# the keys of `view` in a real payload (the fixture has them: tests/contract/test_reference_drift.py)
VIEW_KEYS = set(json.loads((Path(__file__).parents[1] / "fixtures/slack/view_submission.json").read_text())["view"])


def modal(text: str = "Loading…", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "open_case",
        "title": {"type": "plain_text", "text": "Open case"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{"type": "section", "block_id": "body", "text": {"type": "mrkdwn", "text": text}}],
        **extra,
    }


async def test_open_returns_and_keeps_the_view_in_slacks_shape(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    view = (
        await slack_client.views_open(
            trigger_id=fake_slack.issue_trigger_id(), view=modal(private_metadata='{"rule":"r1"}')
        )
    )["view"]
    assert set(view) == VIEW_KEYS
    assert view["id"].startswith("V")
    assert view["root_view_id"] == view["id"]
    assert view["previous_view_id"] is None
    assert view["private_metadata"] == '{"rule":"r1"}'
    assert view["state"] == {"values": {}}
    assert (view["team_id"], view["app_id"], view["bot_id"]) == ("T0001", "A0001", "B0BOT")
    assert fake_slack.views[view["id"]] == view


async def test_trigger_ids_are_single_use(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    trigger = fake_slack.issue_trigger_id()
    await slack_client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as again:
        await slack_client.views_open(trigger_id=trigger, view=modal())
    assert again.value.response["error"] == "exchanged_trigger_id"


async def test_unknown_trigger_id(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await slack_client.views_open(trigger_id="123.456.abc", view=modal())
    assert refused.value.response["error"] == "invalid_trigger_id"


async def test_trigger_ids_expire(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.trigger_ttl = 0.0  # rather than sleeping 3 s
    trigger = fake_slack.issue_trigger_id()
    with pytest.raises(SlackApiError) as expired:
        await slack_client.views_open(trigger_id=trigger, view=modal())
    assert expired.value.response["error"] == "expired_trigger_id"
    assert fake_slack.views == {}


async def test_update_with_the_current_hash(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    opened = (await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal()))["view"]
    updated = (
        await slack_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Rule r1: 3 alerts"))
    )["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    assert updated["blocks"][0]["text"]["text"] == "Rule r1: 3 alerts"
    assert fake_slack.views[opened["id"]]["blocks"][0]["text"]["text"] == "Rule r1: 3 alerts"


async def test_update_with_a_stale_hash_conflicts(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    opened = (await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal()))["view"]
    await slack_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("first"))
    with pytest.raises(SlackApiError) as conflict:
        await slack_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("second"))
    assert conflict.value.response["error"] == "hash_conflict"
    assert fake_slack.views[opened["id"]]["blocks"][0]["text"]["text"] == "first"


async def test_update_without_hash_always_applies(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    opened = (await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal()))["view"]
    await slack_client.views_update(view_id=opened["id"], view=modal("a"))
    await slack_client.views_update(view_id=opened["id"], view=modal("b"))
    assert fake_slack.views[opened["id"]]["blocks"][0]["text"]["text"] == "b"


async def test_update_by_external_id_and_unknown_views(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal(external_id="case-1"))
    updated = (await slack_client.views_update(external_id="case-1", view=modal("x", external_id="case-1")))["view"]
    assert updated["blocks"][0]["text"]["text"] == "x"
    with pytest.raises(SlackApiError) as missing:
        await slack_client.views_update(view_id="V0NOPE", view=modal())
    assert missing.value.response["error"] == "not_found"


async def test_duplicate_external_id(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal(external_id="same"))
    with pytest.raises(SlackApiError) as refused:
        await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal(external_id="same"))
    assert refused.value.response["error"] == "duplicate_external_id"


async def test_push_stacks_up_to_three_views(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    root = (await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal()))["view"]
    second = (await slack_client.views_push(trigger_id=fake_slack.issue_trigger_id(root["id"]), view=modal("2")))[
        "view"
    ]
    assert (second["previous_view_id"], second["root_view_id"]) == (root["id"], root["id"])
    third = (await slack_client.views_push(trigger_id=fake_slack.issue_trigger_id(second["id"]), view=modal("3")))[
        "view"
    ]
    assert third["previous_view_id"] == second["id"]
    with pytest.raises(SlackApiError) as full:
        await slack_client.views_push(trigger_id=fake_slack.issue_trigger_id(third["id"]), view=modal("4"))
    assert full.value.response["error"] == "push_limit_reached"


async def test_view_may_arrive_as_a_json_string_in_a_form(fake_slack: FakeSlack) -> None:
    import json

    import httpx

    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{fake_slack.api_url}views.open",
            headers={"Authorization": f"Bearer {fake_slack.bot_token}"},
            data={"trigger_id": fake_slack.issue_trigger_id(), "view": json.dumps(modal())},
        )
    assert response.json()["ok"] is True
    assert response.json()["view"]["callback_id"] == "open_case"


def text_input_modal(**element: Any) -> dict[str, Any]:
    field = {"type": "plain_text_input", "action_id": "description", "multiline": True, **element}
    block = {"type": "input", "block_id": "description", "label": {"type": "plain_text", "text": "D"}}
    return modal(blocks=[{**block, "element": field}], submit={"type": "plain_text", "text": "Open"})


@pytest.mark.parametrize(
    ("element", "pointer"),
    [
        ({"initial_value": "x" * 3001}, "initial_value"),
        ({"max_length": 30000}, "max_length"),
        ({"max_length": 0}, "max_length"),
        ({"min_length": 3001}, "min_length"),
    ],
)
async def test_a_text_input_takes_at_most_3000_characters(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, element: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=text_input_modal(**element))
    assert refused.value.response["error"] == "invalid_arguments"
    [message] = refused.value.response["response_metadata"]["messages"]
    assert message.endswith(f"[json-pointer:/view/blocks/0/element/{pointer}]")
    assert fake_slack.views == {}
    opened = await slack_client.views_open(
        trigger_id=fake_slack.issue_trigger_id(), view=text_input_modal(initial_value="x" * 3000, max_length=3000)
    )
    assert opened["ok"] is True
