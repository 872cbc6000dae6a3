"""Block Kit limits: each one accepted at the boundary and refused one over, over real HTTP,
with Slack's error code and a `response_metadata.messages` hint naming the spot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack


def section(text: str = "x", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str = "Go", value: str = "v", action_id: str = "go") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "value": value, "action_id": action_id}


def actions(*elements: dict[str, Any], block_id: str = "acts") -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def fields(count: int, size: int = 1) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * size} for _ in range(count)]}


# name → (blocks at the limit, blocks one over, pointer in the hint)
MESSAGE_LIMITS: dict[str, tuple[Callable[[int], list[dict[str, Any]]], int, str]] = {
    "50 blocks a message": (lambda n: [{"type": "divider"} for _ in range(n)], 50, "/blocks"),
    "3000 chars a section text": (lambda n: [section("s" * n)], 3000, "/blocks/0/text/text"),
    "10 fields a section": (lambda n: [fields(n)], 10, "/blocks/0/fields"),
    "2000 chars a section field": (lambda n: [fields(1, n)], 2000, "/blocks/0/fields/0/text"),
    "75 chars button text": (lambda n: [actions(button(text="b" * n))], 75, "/blocks/0/elements/0/text/text"),
    "2000 chars button value": (lambda n: [actions(button(value="v" * n))], 2000, "/blocks/0/elements/0/value"),
    "255 chars action_id": (lambda n: [actions(button(action_id="a" * n))], 255, "/blocks/0/elements/0/action_id"),
    "255 chars block_id": (lambda n: [section(block_id="b" * n)], 255, "/blocks/0/block_id"),
    "25 elements an actions block": (
        lambda n: [actions(*(button(action_id=f"a{i}") for i in range(n)))],
        25,
        "/blocks/0/elements",
    ),
}


@pytest.mark.parametrize("limit", MESSAGE_LIMITS)
async def test_message_limit_boundary_and_one_over(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, limit: str
) -> None:
    build, size, pointer = MESSAGE_LIMITS[limit]
    ok = await slack_client.chat_postMessage(channel="C0ALERTS", text="fits", blocks=build(size))
    assert ok["ok"] is True
    with pytest.raises(SlackApiError) as refused:
        await slack_client.chat_postMessage(channel="C0ALERTS", text="too big", blocks=build(size + 1))
    assert refused.value.response["error"] == "invalid_blocks"
    hints = refused.value.response["response_metadata"]["messages"]
    assert any(f"[json-pointer:{pointer}]" in hint for hint in hints), hints
    assert [m["text"] for m in fake_slack.channel_messages("C0ALERTS")] == ["fits"]


async def test_chat_update_checks_the_limits_too(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="x")
    with pytest.raises(SlackApiError) as refused:
        await slack_client.chat_update(channel="C0ALERTS", ts=posted["ts"], text="y", blocks=[section("s" * 3001)])
    assert refused.value.response["error"] == "invalid_blocks"
    assert "blocks" not in fake_slack.message("C0ALERTS", posted["ts"])  # type: ignore[operator]


async def test_message_text_40000_chars(slack_client: AsyncWebClient) -> None:
    assert (await slack_client.chat_postMessage(channel="C0ALERTS", text="t" * 40_000))["ok"] is True
    with pytest.raises(SlackApiError) as refused:
        await slack_client.chat_postMessage(channel="C0ALERTS", text="t" * 40_001)
    assert refused.value.response["error"] == "msg_too_long"


async def test_duplicate_block_ids_are_refused(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await slack_client.chat_postMessage(
            channel="C0ALERTS", text="x", blocks=[section(block_id="same"), section(block_id="same")]
        )
    assert refused.value.response["error"] == "invalid_blocks"


async def test_unknown_block_type_is_refused(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await slack_client.chat_postMessage(channel="C0ALERTS", text="x", blocks=[{"type": "hologram"}])
    assert refused.value.response["error"] == "invalid_blocks"


def modal(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "open_case",
        "title": {"type": "plain_text", "text": "Open case"},
        "submit": {"type": "plain_text", "text": "Open"},
        "blocks": [section("body")],
    }
    view.update(overrides)
    return view


def title(n: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": "t" * n}


# name → (view at the limit, view one over, pointer)
VIEW_LIMITS: dict[str, tuple[Callable[[int], dict[str, Any]], int, str]] = {
    "100 blocks a modal": (lambda n: modal(blocks=[{"type": "divider"} for _ in range(n)]), 100, "/view/blocks"),
    "24 chars modal title": (lambda n: modal(title=title(n)), 24, "/view/title/text"),
    "24 chars submit": (lambda n: modal(submit=title(n)), 24, "/view/submit/text"),
    "3000 chars private_metadata": (lambda n: modal(private_metadata="m" * n), 3000, "/view/private_metadata"),
    "255 chars callback_id": (lambda n: modal(callback_id="c" * n), 255, "/view/callback_id"),
    "3000 chars section text in a modal": (
        lambda n: modal(blocks=[section("s" * n)]),
        3000,
        "/view/blocks/0/text/text",
    ),
}


@pytest.mark.parametrize("limit", VIEW_LIMITS)
async def test_view_limit_boundary_and_one_over(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, limit: str
) -> None:
    build, size, pointer = VIEW_LIMITS[limit]
    opened = await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=build(size))
    assert opened["ok"] is True
    with pytest.raises(SlackApiError) as refused:
        await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=build(size + 1))
    assert refused.value.response["error"] == "invalid_arguments"
    hints = refused.value.response["response_metadata"]["messages"]
    assert any(f"[json-pointer:{pointer}]" in hint for hint in hints), hints
    assert len(fake_slack.views) == 1


async def test_a_modal_with_inputs_needs_submit(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    view = modal(
        blocks=[
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "title"},
            }
        ]
    )
    del view["submit"]
    with pytest.raises(SlackApiError) as refused:
        await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=view)
    assert refused.value.response["error"] == "invalid_arguments"
