"""A Slack payload parsed once (handlers/shared/interaction.py), from the repository's Slack fixtures:
who acts, the one channel rule, where the person is answered, the value and where it came from."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context

from handlers.shared.interaction import Interaction

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def parsed(body: dict[str, Any]) -> Interaction:
    """As a listener sees it: the body, and the context Bolt built from it."""
    return Interaction.parse(body, build_async_context(AsyncBoltContext(), body))


def test_a_button_in_a_message() -> None:
    body = fixture("block_actions_button_in_message.json")
    interaction = parsed(body)
    assert interaction.actor.user_id == "U07ALICE1" and interaction.actor.user_name == "alice"
    assert interaction.actor.team_id == "T07KCHOPS"
    assert interaction.channel == "C07ALERTS" and interaction.conflict is None
    assert interaction.action_id == body["actions"][0]["action_id"]
    assert interaction.value == body["actions"][0]["value"]
    assert interaction.message_ts == "1767258000.000100" and not interaction.ephemeral
    assert interaction.message is not None and interaction.message.text == "CPU usage above 90% on web-1"
    assert interaction.trigger_id == body["trigger_id"]
    assert interaction.surface.response_url == body["response_url"] == interaction.response_url
    assert interaction.view is None


def test_a_menu_gives_the_chosen_option() -> None:
    body = fixture("block_actions_button_in_message.json")
    action = body["actions"][0]
    action.pop("value", None)
    action["selected_option"] = {"text": {"type": "plain_text", "text": "4 hours"}, "value": '{"o":"4h"}'}
    assert parsed(body).value == '{"o":"4h"}'


@pytest.mark.parametrize(
    ("channel", "container", "acts_in"),
    [("C1", "C1", "C1"), ("C1", None, "C1"), (None, "C2", "C2"), (None, None, None)],
)
def test_one_channel_rule(channel: str | None, container: str | None, acts_in: str | None) -> None:
    """`channel.id`, else `container.channel_id`: for the access check, the audit and the answer alike."""
    body = fixture("block_actions_button_in_message.json")
    body.pop("channel")
    body["container"].pop("channel_id")
    if channel:
        body["channel"] = {"id": channel, "name": "x"}
    if container:
        body["container"]["channel_id"] = container
    interaction = parsed(body)
    assert interaction.channel == acts_in == interaction.surface.channel
    assert interaction.conflict is None


def test_a_payload_naming_two_channels_is_a_conflict() -> None:
    body = fixture("block_actions_button_in_message.json")
    body["container"]["channel_id"] = "C0OTHER"
    interaction = parsed(body)
    assert interaction.conflict == "channel C07ALERTS ≠ container C0OTHER"
    shortcut = fixture("message_shortcut.json")
    shortcut["container"] = {"type": "message", "channel_id": "C0OTHER", "message_ts": shortcut["message_ts"]}
    assert parsed(shortcut).conflict == "channel C07ALERTS ≠ container C0OTHER"


def test_a_message_shortcut() -> None:
    body = fixture("message_shortcut.json")
    interaction = parsed(body)
    assert interaction.callback_id == "open_case" and interaction.action_id is None and interaction.value is None
    assert interaction.channel == "C07ALERTS"
    assert interaction.message_ts == "1767257900.000400"
    assert interaction.message is not None and interaction.message.author == "U07BOB002"
    assert interaction.message.text == body["message"]["text"]
    assert interaction.response_url == body["response_url"]


def test_a_modal_submission() -> None:
    body = fixture("view_submission_response_urls.json")
    body["view"]["private_metadata"] = "sealed.{}"
    interaction = parsed(body)
    assert interaction.callback_id == "case_link" and interaction.value == "sealed.{}"
    assert interaction.view_id == "V07CASE003" and interaction.form is body["view"]
    assert interaction.channel is None and interaction.message is None
    assert interaction.response_url == body["response_urls"][0]["response_url"]
    assert interaction.in_channel("C07ALERTS").surface.channel == "C07ALERTS"


def test_what_is_not_what_slack_sends_reads_as_nothing() -> None:
    body = fixture("block_actions_button_in_message.json")
    forged = copy.deepcopy(body)
    forged.update(actions=["not a dict"], container="C1", message=7, user={"id": "U07ALICE1", "name": 3})
    interaction = parsed(forged)
    assert interaction.value is None and interaction.action_id is None
    assert interaction.message is None and interaction.ephemeral
    assert interaction.actor.user_name == "" and interaction.channel == "C07ALERTS"
