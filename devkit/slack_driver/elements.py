"""Finding the element a user acts on, the `actions` entry Slack reports for it, and views
completed to the shape Slack sends them in."""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from devkit.slack_driver import state

VIEW_KEYS = [
    "id",
    "team_id",
    "type",
    "blocks",
    "private_metadata",
    "callback_id",
    "state",
    "hash",
    "title",
    "clear_on_close",
    "notify_on_close",
    "close",
    "submit",
    "previous_view_id",
    "root_view_id",
    "app_id",
    "external_id",
    "app_installed_team_id",
    "bot_id",
]


def action_ts() -> str:
    return f"{time.time():.6f}"


def find_element(
    blocks: list[Any], action_id: str, value: str | None, block_id: str | None
) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the interactive element a user would click."""
    for found_block, element, _ in state.stateful_elements(blocks):
        if element.get("action_id") != action_id or (block_id and found_block != block_id):
            continue
        if value is None or element.get("type") != "button" or element.get("value") == value:
            return found_block, element
    raise ValueError(f"no element with action_id {action_id!r} (value {value!r}) in these blocks")


def action_for(block_id: str, element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """One entry of `actions`, shaped like Slack's for the element's type."""
    if element.get("type") == "button":
        action: dict[str, Any] = {"action_id": element["action_id"], "block_id": block_id}
        action["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
        action["type"] = "button"
        action["action_ts"] = action_ts()
        return action
    chosen = state.chosen_state(element, value)
    return {"action_id": element.get("action_id"), "block_id": block_id, **chosen, "action_ts": action_ts()}


def complete_view(view: dict[str, Any], team_id: str, app_id: str, new_id: str) -> dict[str, Any]:
    """`view` with every key Slack's views have (d_view_submission.real-capture…)."""
    view_id = view.get("id") or new_id
    defaults: dict[str, Any] = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "title": None,
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": "B0BOT",
    }
    return {key: copy.deepcopy(view.get(key, defaults[key])) for key in VIEW_KEYS}
