"""The driver's payloads have exactly the keys of real Slack payloads, at every level (the
project's fixtures in tests/fixtures/slack/, modelled on real ones: see its README.md), and carry
live response_urls/trigger_ids."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver

FIXTURES = Path(__file__).parents[1] / "fixtures" / "slack"


def slack_fixture(name: str) -> Any:
    text = (FIXTURES / name).read_text()
    return text if name.endswith(".txt") else json.loads(text)


def assert_same_keys(actual: Any, expected: Any, path: str = "", opaque: frozenset[str] = frozenset()) -> None:
    """Same keys in every object, recursively (lists: their first items); `opaque` paths hold
    content chosen by the test (blocks, state values) and are not descended into."""
    if path.lstrip(".") in opaque:
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        missing, extra = set(expected) - set(actual), set(actual) - set(expected)
        assert not missing and not extra, f"at {path or '<root>'}: missing {sorted(missing)}, extra {sorted(extra)}"
        for key in expected:
            assert_same_keys(actual[key], expected[key], f"{path}.{key}", opaque)
    elif isinstance(actual, list) and isinstance(expected, list) and actual and expected:
        assert_same_keys(actual[0], expected[0], f"{path}[0]", opaque)


ALERT_BLOCKS = [
    {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "*CPU > 90%* on web-1"}},
    {
        "type": "actions",
        "block_id": "alert_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "alert_mute",
                "text": {"type": "plain_text", "text": "Mute", "emoji": True},
                "value": '{"rule":"r1","alert":"web-1"}',
            },
            {
                "type": "button",
                "action_id": "rule_disable",
                "text": {"type": "plain_text", "text": "Disable rule", "emoji": True},
                "style": "danger",
                "value": '{"rule":"r1"}',
            },
        ],
    },
]


def fixture_slash_command() -> dict[str, str]:
    return dict(parse_qsl(slack_fixture("slash_command.form.txt"), keep_blank_values=True))


async def test_slash_command(fake_slack: FakeSlack, slack_driver: SlackDriver) -> None:
    payload = slack_driver.slash_command("mute r1 web-1")
    assert list(payload) == list(fixture_slash_command())  # same keys, same order
    assert all(isinstance(v, str) for v in payload.values())
    assert (payload["command"], payload["text"], payload["user_id"], payload["channel_id"]) == (
        "/kibana",
        "mute r1 web-1",
        "U0ALICE",
        "C0ALERTS",
    )
    assert payload["response_url"].startswith(fake_slack.base_url)
    assert payload["trigger_id"] in fake_slack.triggers


async def test_slash_command_of_another_user_and_channel(fake_slack: FakeSlack, slack_driver: SlackDriver) -> None:
    fake_slack.add_user("U0BOB", "bob")
    fake_slack.add_channel("C0OPS", "ops")
    payload = slack_driver.slash_command("", user_id="U0BOB", channel_id="C0OPS", command="/kb")
    assert (payload["user_name"], payload["channel_name"], payload["command"], payload["text"]) == (
        "bob",
        "ops",
        "/kb",
        "",
    )


async def test_block_action_on_a_posted_message(
    fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="CPU high", blocks=ALERT_BLOCKS)
    payload = slack_driver.block_action("rule_disable", '{"rule":"r1"}')
    expected = slack_fixture("block_actions_button_in_message.json")
    assert_same_keys(payload, expected, opaque=frozenset({"message.blocks", "state.values"}))
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C0ALERTS",
        "is_ephemeral": False,
    }
    assert payload["message"] == fake_slack.message("C0ALERTS", posted["ts"])
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["style"]) == (
        "rule_disable",
        "alert_actions",
        '{"rule":"r1"}',
        "danger",
    )
    assert payload["state"] == {"values": {}}


async def test_a_button_without_style_has_no_style_key(
    fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    await slack_client.chat_postMessage(channel="C0ALERTS", text="CPU high", blocks=ALERT_BLOCKS)
    (action,) = slack_driver.block_action("alert_mute")["actions"]
    expected = slack_fixture("block_actions_button_without_style.json")["actions"][0]
    assert_same_keys(action, expected, opaque=frozenset({"text"}))


async def test_block_action_picks_the_newest_matching_message(
    fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    await slack_client.chat_postMessage(channel="C0ALERTS", text="old", blocks=ALERT_BLOCKS)
    newest = await slack_client.chat_postMessage(channel="C0ALERTS", text="new", blocks=ALERT_BLOCKS)
    await slack_client.chat_postMessage(channel="C0ALERTS", text="no buttons")
    assert slack_driver.block_action("alert_mute")["message"]["ts"] == newest["ts"]
    with pytest.raises(ValueError, match="no message"):
        slack_driver.block_action("alert_unmute")


async def test_block_action_response_url_replaces_the_message(
    fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    from slack_sdk.webhook.async_client import AsyncWebhookClient

    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="CPU high", blocks=ALERT_BLOCKS)
    payload = slack_driver.block_action("alert_mute")
    await AsyncWebhookClient(payload["response_url"]).send(text="muted", replace_original=True)
    assert fake_slack.message("C0ALERTS", posted["ts"])["text"] == "muted"  # type: ignore[index]


MODAL_WITH_SELECT = {
    "type": "modal",
    "callback_id": "rule_snooze",
    "title": {"type": "plain_text", "text": "Snooze rule"},
    "submit": {"type": "plain_text", "text": "Snooze"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "section",
            "block_id": "block",
            "text": {"type": "mrkdwn", "text": "For how long?"},
            "accessory": {
                "type": "static_select",
                "action_id": "a",
                "options": [
                    {"text": {"type": "plain_text", "text": "1 hour", "emoji": True}, "value": "1h"},
                    {"text": {"type": "plain_text", "text": "1 day", "emoji": True}, "value": "1d"},
                ],
            },
        }
    ],
}


async def test_block_action_in_a_modal(
    fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    opened = (await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=MODAL_WITH_SELECT))["view"]
    payload = slack_driver.block_action("a", "1d", view=opened)
    envelope = slack_fixture("socket_mode_block_actions_in_modal.json")
    assert_same_keys(payload, envelope["payload"], opaque=frozenset({"view.blocks", "view.state.values"}))
    assert payload["container"] == {"type": "view", "view_id": opened["id"]}
    assert payload["actions"][0]["selected_option"]["value"] == "1d"
    # the trigger_id of an interaction in a modal can push onto that modal
    pushed = await slack_client.views_push(trigger_id=payload["trigger_id"], view=MODAL_WITH_SELECT)
    assert pushed["view"]["previous_view_id"] == opened["id"]


async def test_message_shortcut(fake_slack: FakeSlack, slack_driver: SlackDriver) -> None:
    message = fake_slack.post_as_user("C0ALERTS", "checkout is failing for EU users")
    payload = slack_driver.message_shortcut("open_case", message)
    assert_same_keys(payload, slack_fixture("message_shortcut.json"), opaque=frozenset({"message.blocks"}))
    assert (payload["callback_id"], payload["message_ts"]) == ("open_case", message["ts"])
    assert payload["response_url"].startswith(fake_slack.base_url)


async def test_view_submission_of_an_opened_modal(
    fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    composite = slack_fixture("view_submission_four_inputs.json")
    view = {k: composite["view"][k] for k in ("type", "callback_id", "title", "submit", "close", "blocks")}
    view["private_metadata"] = '{"channel":"C0ALERTS"}'
    opened = (await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=view))["view"]
    values = {
        "summary": {"summary_text": "Disk almost full on db-1"},
        "severity": {"severity_choice": "high"},
        "notify": {"notify_choices": ["oncall", "owners"]},
        "assignees": {"assignee_users": ["U07ALICE1", "U07BOB002"]},
    }
    payload = slack_driver.view_submission(opened, values)
    expected = slack_fixture("view_submission.json")
    assert_same_keys(payload, expected, opaque=frozenset({"view.blocks", "view.state.values"}))
    assert payload["view"]["state"]["values"] == composite["view"]["state"]["values"]
    assert (payload["view"]["id"], payload["view"]["private_metadata"]) == (opened["id"], '{"channel":"C0ALERTS"}')


def test_view_submission_state_equals_the_fixture() -> None:
    expected = slack_fixture("view_submission.json")
    view = copy.deepcopy(expected["view"])
    view["state"] = {"values": {}}
    values = {
        "impact": {"impact_choice": "2"},
        "services": {"service_choices": ["svc-payments", "svc-checkout"]},
        "summary": {"summary_text": "EU checkout answers 502"},
        "notes": {"notes_text": "Started after the 14:00 deploy"},
        "review_by": {"review_date": "2026-01-05"},
    }
    payload = SlackDriver(signing_secret="s").view_submission(view, values)
    assert payload["view"] == expected["view"]
    assert_same_keys(payload, expected)


def test_untouched_inputs_are_reported_empty() -> None:
    view = slack_fixture("view_submission_shared_action_id.json")["view"]
    payload = SlackDriver(signing_secret="s").view_submission(view, {"note": {"value": "hi"}})
    assert payload["view"]["state"]["values"] == {
        "severity": {"value": {"type": "static_select", "selected_option": None}},
        "since": {"value": {"type": "datepicker", "selected_date": "2026-01-02"}},
        "note": {"value": {"type": "plain_text_input", "value": "hi"}},
    }
    with pytest.raises(ValueError, match="no element"):
        SlackDriver(signing_secret="s").view_submission(view, {"nope": {"x": "y"}})


def test_view_submission_response_urls() -> None:
    closed = slack_fixture("view_closed.json")["view"]  # has a response_url_enabled select
    payload = SlackDriver(signing_secret="s").view_submission(
        closed, {"post_to": {"post_to_channel": "C0ALERTS"}, "impact": {"impact_choice": "1"}}
    )
    (entry,) = payload["response_urls"]
    assert_same_keys(entry, slack_fixture("view_submission_response_urls.json")["response_urls"][0])
    assert (entry["block_id"], entry["action_id"], entry["channel_id"]) == ("post_to", "post_to_channel", "C0ALERTS")


async def test_view_closed(fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient) -> None:
    opened = (
        await slack_client.views_open(
            trigger_id=fake_slack.issue_trigger_id(), view={**MODAL_WITH_SELECT, "notify_on_close": True}
        )
    )["view"]
    payload = slack_driver.view_closed(opened, is_cleared=True)
    expected = slack_fixture("view_closed.json")
    assert_same_keys(payload, expected, opaque=frozenset({"view.blocks", "view.state.values"}))
    assert (payload["is_cleared"], payload["view"]["notify_on_close"]) == (True, True)


def test_event_callback() -> None:
    expected = slack_fixture("socket_mode_events_api_app_mention.json")["payload"]
    event = copy.deepcopy(expected["event"])
    payload = SlackDriver(signing_secret="s").event_callback(event, event_id="Ev123")
    assert_same_keys(payload, expected)
    assert payload["event_id"] == "Ev123"
    modern = slack_fixture("event_callback_app_mention.json")
    assert set(payload) - set(modern) == {"token"}


async def test_function_executed_has_the_keys_of_slacks_and_a_live_execution() -> None:
    expected = slack_fixture("event_callback_function_executed.json")
    async with FakeSlack() as fake:
        driver = SlackDriver(signing_secret="s", fake_slack=fake, user_id="U0ALICE")
        payload = driver.function_executed("kibana_snooze_rule", {"rule_id": "cpu-high", "duration": "4h"})
        assert_same_keys(payload, expected, opaque=frozenset({"event.inputs"}))
        event = payload["event"]
        assert event["inputs"]["run_by"]["id"] == "U0ALICE" and event["inputs"]["run_by"]["secret"]
        assert {p["name"] for p in event["function"]["input_parameters"]} == {"rule_id", "duration", "space", "run_by"}
        execution = fake.functions.executions[event["function_execution_id"]]
        assert execution.state == "running" and execution.token == event["bot_access_token"]
        with pytest.raises(
            ValueError, match="run_by"
        ):  # Workflow Builder never runs a step without its required inputs
            fake.start_step("kibana_snooze_rule", {"rule_id": "cpu-high", "duration": "4h"})


async def test_message_event_of_a_reply_in_a_thread(fake_slack: FakeSlack, slack_driver: SlackDriver) -> None:
    """The `message` event of a person's reply (message.channels; message.groups in a private channel):
    the event_callback envelope of the fixtures, the message as stored, its channel and channel_type."""
    parent = fake_slack.post_as_user("C0ALERTS", "parent", user="U0BOB")
    reply = fake_slack.post_as_user("C0ALERTS", "a reply", user="U0BOB", thread_ts=parent["ts"])
    payload = slack_driver.message_event(reply, event_id="Ev42")
    expected = slack_fixture("socket_mode_events_api_app_mention.json")["payload"]
    assert set(payload) == set(expected) and payload["event_id"] == "Ev42"
    event = payload["event"]
    assert event["type"] == "message" and "subtype" not in event
    assert (event["channel"], event["channel_type"], event["user"], event["text"]) == (
        "C0ALERTS",
        "channel",
        "U0BOB",
        "a reply",
    )
    assert (event["ts"], event["thread_ts"], event["event_ts"]) == (reply["ts"], parent["ts"], reply["ts"])
    assert event["parent_user_id"] == "U0BOB" and event["blocks"] == reply["blocks"]
    fake_slack.add_channel("C0PRIV", "private", is_private=True)
    private = fake_slack.post_as_user("C0PRIV", "secret", user="U0BOB")
    top = slack_driver.message_event(private, channel_id="C0PRIV")["event"]
    assert top["channel_type"] == "group" and "thread_ts" not in top


def test_url_verification() -> None:
    payload = SlackDriver(signing_secret="s").url_verification("abc")
    assert_same_keys(payload, slack_fixture("url_verification.json"))
    assert payload["challenge"] == "abc"


def test_without_a_fake_the_urls_look_like_slacks() -> None:
    payload = SlackDriver(signing_secret="s").slash_command("help")
    assert payload["response_url"].startswith("https://hooks.slack.com/commands/T0001/")
    assert len(payload["trigger_id"].split(".")) == 3


# Slack's examples of the two events (docs.slack.dev, the `link_shared` and `app_home_opened` event
# references; one link, the Home view's blocks emptied). The reference collection the fixtures in
# tests/fixtures/slack/ are checked against has no payload of either, so they are kept here.
LINK_SHARED: dict[str, Any] = {
    "token": "XXYYZZ",
    "team_id": "T123ABC456",
    "api_app_id": "A123ABC456",
    "event": {
        "type": "link_shared",
        "channel": "C123ABC456",
        "is_bot_user_member": True,
        "user": "U123ABC456",
        "message_ts": "123456789.9875",
        "unfurl_id": "C123456.123456789.987501.1b90fa1278528ce6e2f6c5c2bfa1abc9a41d57d02b29d173f40399c9ffdecf4b",
        "source": "conversations_history",
        "links": [{"domain": "example.com", "url": "https://example.com/12345"}],
        "event_ts": "123456789.9875",
    },
    "type": "event_callback",
    "authed_users": ["U123ABC456"],
    "event_id": "Ev123ABC456",
    "event_time": 123456789,
}
APP_HOME_OPENED: dict[str, Any] = {
    "type": "app_home_opened",
    "user": "U123ABC456",
    "channel": "D123ABC456",
    "event_ts": "1515449522000016",
    "tab": "home",
    "view": {
        "id": "V123ABC456",
        "team_id": "T123ABC456",
        "type": "home",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": "1231232323.12321312",
        "clear_on_close": False,
        "notify_on_close": False,
        "root_view_id": "V123ABC456",
        "app_id": "A123ABC456",
        "external_id": "",
        "app_installed_team_id": "T123ABC456",
        "bot_id": "B123ABC456",
    },
}


async def test_link_shared_and_app_home_opened() -> None:
    async with FakeSlack() as fake:
        fake.add_channel("C0ALERTS", "alerts")
        driver = SlackDriver(signing_secret="s", fake_slack=fake)
        shared = driver.link_shared("see https://kibana.example.com/app/x and https://other.example.org/y")
        expected = LINK_SHARED
        # a delivery of the modern Events API: `authorizations` where the docs' example has `authed_users`
        assert set(shared["event"]) == set(expected["event"])
        assert_same_keys(shared["event"]["links"], expected["event"]["links"])
        assert shared["event"]["links"] == [{"domain": "kibana.example.com", "url": "https://kibana.example.com/app/x"}]
        typed = driver.link_shared("https://kibana.example.com/app/x", composer=True)["event"]
        assert (typed["channel"], typed["source"]) == ("COMPOSER", "composer")

        first = driver.app_home_opened()["event"]
        home = APP_HOME_OPENED
        assert set(first) == set(home) - {"view"}  # no view is published yet
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        await client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})
        again = driver.app_home_opened()["event"]
        assert set(again) == set(home)
        assert set(home["view"]) <= set(again["view"])


async def test_block_suggestion_in_an_opened_modal(
    fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    expected = slack_fixture("block_suggestion.json")
    view = {k: expected["view"][k] for k in ("type", "callback_id", "title", "submit", "close", "blocks")}
    view["private_metadata"] = expected["view"]["private_metadata"]
    opened = (await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=view))["view"]
    payload = slack_driver.block_suggestion(opened, "case_pick", "database")
    # `team` of the model is an Enterprise Grid workspace's (enterprise_id, enterprise_name); the driver's is not.
    # The model's texts have no `emoji` key, which the fake Slack adds as Slack does to plain_text it stores.
    texts = {"view.title", "view.close", "view.submit"}
    assert_same_keys(payload, expected, opaque=frozenset({"view.blocks", "view.state", "team", *texts}))
    assert (payload["action_id"], payload["block_id"], payload["value"]) == ("case_pick", "case_pick", "database")
    assert payload["container"] == {"type": "view", "view_id": opened["id"]}
    assert payload["view"]["private_metadata"] == expected["view"]["private_metadata"]
