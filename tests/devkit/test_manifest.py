"""manifest.json: valid against Slack's manifest schema, and asking for exactly the scopes the
bot's Web API calls and features need."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).parents[2]
# Slack's manifest schema, trimmed to the parts this manifest uses (see its $comment)
SCHEMA = ROOT / "tests" / "fixtures" / "slack" / "manifest.schema.1.0.0.trimmed.json"

# Every Web API method the code may call → the bot scope it needs (None: no scope, or the app token).
SCOPE_OF_METHOD: dict[str, str | None] = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_delete": "chat:write",
    "chat_getPermalink": None,
    "conversations_info": "channels:read",  # and groups:read for private channels
    "conversations_join": "channels:join",
    "users_info": "users:read",
    "usergroups_users_list": "usergroups:read",
    "files_info": "files:read",  # and the download of url_private_download
    "views_open": None,
    "views_update": None,
    "views_push": None,
    "auth_test": None,
    "apps_connections_open": None,  # the app-level token's connections:write
}
# Scopes that follow from a feature rather than from one method call.
FEATURE_SCOPES = {"commands"}  # the slash command and the message shortcut
COMPANION_SCOPES = {"channels:read": {"groups:read"}}  # conversations.info on private channels


def methods_the_code_calls() -> set[str]:
    import re

    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            if "devkit" in path.parts:
                continue
            found |= set(
                re.findall(
                    r"\.((?:chat|conversations|users|usergroups|files|views|auth|apps)_[A-Za-z_]+)\(", path.read_text()
                )
            )
    return found


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
    (shortcut,) = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"], shortcut["name"]) == ("message", "open_case", "Open Kibana case")
    settings = manifest["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": "https://example.com/slack/events"}
    assert (settings["socket_mode_enabled"], settings["org_deploy_enabled"]) == (True, False)


def test_bot_scopes_are_exactly_what_the_bot_uses(manifest: dict[str, Any]) -> None:
    called = methods_the_code_calls()
    unknown = called - set(SCOPE_OF_METHOD)
    assert not unknown, f"add the scope of {unknown} to SCOPE_OF_METHOD (and manifest.json)"
    needed = set(FEATURE_SCOPES)
    for method in called:
        scope = SCOPE_OF_METHOD[method]
        if scope:
            needed |= {scope, *COMPANION_SCOPES.get(scope, set())}
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == needed
    assert "files_info" in called and "chat_postMessage" in called  # the scan really reads the code
