"""manifest.json: valid against Slack's manifest schema, asking for exactly the scopes the bot's Web
API calls, events and features need, subscribing to exactly the events it listens to, and declaring
exactly the Workflow Builder steps the features offer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.slack_scopes import EVENT_SCOPES, FEATURE_SCOPES, METHOD_SCOPES, event_type, needed_scopes
from handlers import STEPS, build_catalog, manifest_functions
from tests.slack_calls import events_the_code_listens_to, methods_the_code_calls

ROOT = Path(__file__).parents[2]
# Slack's manifest schema, trimmed to the parts this manifest uses (see its $comment)
SCHEMA = ROOT / "tests" / "fixtures" / "slack" / "manifest.schema.1.0.0.trimmed.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text())
    return data


def test_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest, schema)


def test_schema_check_is_not_vacuous(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = json.loads(json.dumps(manifest))
    broken["features"]["shortcuts"][0]["name"] = "A shortcut name longer than 24"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_command_shortcut_and_settings(manifest: dict[str, Any]) -> None:
    assert manifest["display_information"]["name"] == "Kibana ChatOps"
    (command,) = manifest["features"]["slash_commands"]
    assert (command["command"], command["should_escape"]) == ("/kibana", False)
    assert command["url"] == "https://example.com/slack/events"
    assert command["usage_hint"] and command["description"]
    shortcuts = [(s["type"], s["callback_id"], s["name"]) for s in manifest["features"]["shortcuts"]]
    assert shortcuts == [
        ("message", "open_case", "Open Kibana case"),
        ("message", "add_to_case", "Add to Kibana case"),
    ]
    assert {s["callback_id"] for s in manifest["features"]["shortcuts"]} == set(build_catalog().by_shortcut)
    settings = manifest["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://example.com/slack/events",
        "message_menu_options_url": "https://example.com/slack/events",  # the case menu's options (HTTP mode)
    }
    # custom steps need an org-ready app (Slack's "Custom steps" guide) and Bolt as their runtime
    assert (settings["socket_mode_enabled"], settings["org_deploy_enabled"]) == (True, True)
    assert settings["function_runtime"] == "remote"
    assert settings["event_subscriptions"]["request_url"] == "https://example.com/slack/events"


def test_the_bot_knows_the_scopes_of_exactly_the_methods_it_calls() -> None:
    called = methods_the_code_calls()
    assert "files.info" in called and "chat.postMessage" in called  # the scan really reads the code
    assert called == set(METHOD_SCOPES), "bot/slack_scopes.py METHOD_SCOPES must name every method the code calls"


def test_bot_scopes_are_exactly_what_the_bot_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == needed_scopes()
    assert set(FEATURE_SCOPES) <= set(scopes)
    # conversations.info describes every kind of conversation a command can come from (im:read, mpim:read:
    # without them a direct message was refused `missing_scope`, which the bot then took as permission)
    assert {"channels:read", "groups:read", "im:read", "mpim:read"} <= set(scopes)


def test_the_fake_slack_asks_the_same_scopes_of_the_methods_the_bot_calls() -> None:
    from devkit.fake_slack.scopes import METHOD_SCOPES as FAKE_SCOPES

    bot_token_methods = set(METHOD_SCOPES) - {"apps.connections.open"}  # the app-level token's
    assert {m: FAKE_SCOPES[m] for m in bot_token_methods} == {m: METHOD_SCOPES[m] for m in bot_token_methods}


def test_the_manifest_subscribes_to_exactly_the_events_the_bot_listens_to(manifest: dict[str, Any]) -> None:
    listened = events_the_code_listens_to()
    assert "function_executed" in listened  # the scan really reads the code (the steps' app.function)
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert subscribed == set(EVENT_SCOPES), "bot/slack_scopes.py EVENT_SCOPES names every subscription"
    # every subscription has its listener, and every listener its subscription (`message` ← message.channels…)
    assert {event_type(s) for s in subscribed} == listened
    assert set().union(*EVENT_SCOPES.values()) <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_manifest_declares_exactly_the_workflow_steps_the_features_offer(manifest: dict[str, Any]) -> None:
    assert manifest["functions"] == manifest_functions()
    catalog = build_catalog()
    assert {step.callback_id for step in STEPS} == set(catalog.by_step)
    for step in STEPS:  # each step performs the catalog action that names it, so the same access applies
        assert catalog.by_step[step.callback_id] is step.action
        inputs = manifest["functions"][step.callback_id]["input_parameters"]
        assert inputs["run_by"]["type"] == "slack#/types/user_context" and inputs["run_by"]["is_required"]


def test_a_step_definition_that_breaks_slacks_schema_is_caught(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = json.loads(json.dumps(manifest))
    del broken["functions"]["kibana_snooze_rule"]["output_parameters"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
