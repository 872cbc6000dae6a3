"""manifest.json: valid against Slack's manifest schema, and asking for exactly the scopes the
bot's Web API calls and features need."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).parents[2]
REFERENCE = Path(os.environ.get("SLACK_REFERENCE_DIR", ROOT.parent / "shared/reference/slack"))

# Web API methods the bot calls → the bot scope each needs (no scope: views.*, chat.getPermalink,
# auth.test; apps.connections.open uses the app-level token's connections:write).
SCOPE_OF_METHOD = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "conversations.info (public)": "channels:read",
    "conversations.info (private)": "groups:read",
    "conversations.join": "channels:join",
    "users.info": "users:read",
    "usergroups.users.list": "usergroups:read",
    "files.info / url_private_download": "files:read",
    "slash command and message shortcut": "commands",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text())
    return data


def test_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads((REFERENCE / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(manifest, schema)


def test_schema_check_is_not_vacuous(manifest: dict[str, Any]) -> None:
    schema = json.loads((REFERENCE / "manifest.schema.1.0.0.json").read_text())
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
    (shortcut,) = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"], shortcut["name"]) == ("message", "open_case", "Open Kibana case")
    settings = manifest["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": "https://example.com/slack/events"}
    assert (settings["socket_mode_enabled"], settings["org_deploy_enabled"]) == (True, False)


def test_bot_scopes_are_exactly_what_the_bot_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == set(SCOPE_OF_METHOD.values())
    assert "chat:write.public" not in scopes
