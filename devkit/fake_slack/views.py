"""Modals: trigger_ids (3 s, single use), views.open / views.push / views.update with hash; the Home
tab: views.publish (one view per person, only when the app enables its Home tab)."""

from __future__ import annotations

import copy
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devkit.fake_slack import block_kit
from devkit.fake_slack.records import SlackApiFailure
from devkit.fake_slack.web_api import Handler, json_argument, required
from devkit.fake_slack.workspace import normalized, with_block_ids

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack

TRIGGER_TTL = 3.0
MAX_STACK = 3


@dataclass
class Trigger:
    issued_at: float
    view_id: str | None = None
    used: bool = False


def new_trigger_id() -> str:
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_urlsafe(6)[:8]}"


def use_trigger(fake: FakeSlack, params: dict[str, Any]) -> Trigger:
    """The trigger a views.open/push names; Slack's errors when it cannot be used."""
    required(params, "trigger_id")
    trigger = fake.triggers.get(str(params["trigger_id"]))
    if trigger is None:
        raise SlackApiFailure("invalid_trigger_id")
    if trigger.used:
        raise SlackApiFailure("exchanged_trigger_id")
    if time.monotonic() - trigger.issued_at > fake.trigger_ttl:
        raise SlackApiFailure("expired_trigger_id")
    trigger.used = True
    return trigger


def view_argument(params: dict[str, Any]) -> dict[str, Any]:
    required(params, "view")
    view = json_argument(params, "view", "invalid_arguments")
    if not isinstance(view, dict):
        raise SlackApiFailure("invalid_arguments", messages=["[ERROR] must be an object [json-pointer:/view]"])
    problems = block_kit.view_problems(view)
    if problems:
        raise SlackApiFailure("invalid_arguments", messages=problems)
    return view


def stored_view(
    fake: FakeSlack, view: dict[str, Any], *, view_id: str, previous: str | None, root: str | None
) -> dict[str, Any]:
    """The view as Slack keeps and returns it (the shape of `view` in payloads)."""
    external_id = view.get("external_id", "")
    if external_id:
        for other in fake.views.values():
            if other["external_id"] == external_id and other["id"] != view_id:
                raise SlackApiFailure("duplicate_external_id")
    old = fake.views.get(view_id)
    return {
        "id": view_id,
        "team_id": fake.workspace.team_id,
        "type": view.get("type", "modal"),
        "blocks": with_block_ids(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": copy.deepcopy(old["state"]) if old else {"values": {}},
        "hash": new_hash(),
        "title": normalized(view.get("title")),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": normalized(view.get("close")),
        "submit": normalized(view.get("submit")),
        "previous_view_id": previous,
        "root_view_id": root or view_id,
        "app_id": fake.workspace.app_id,
        "external_id": external_id,
        "app_installed_team_id": fake.workspace.team_id,
        "bot_id": fake.workspace.bot_id,
    }


async def views_open(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    view = view_argument(params)
    use_trigger(fake, params)
    view_id = fake.workspace.new_id("V")
    fake.views[view_id] = stored_view(fake, view, view_id=view_id, previous=None, root=None)
    return {"ok": True, "view": copy.deepcopy(fake.views[view_id])}


def stack_depth(fake: FakeSlack, view_id: str) -> int:
    depth = 0
    current: str | None = view_id
    while current is not None and current in fake.views:
        depth += 1
        current = fake.views[current]["previous_view_id"]
    return depth


async def views_push(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    view = view_argument(params)
    trigger = use_trigger(fake, params)
    top = trigger.view_id
    if top is None or top not in fake.views:
        # Pushed from outside a modal: onto the most recently opened one.
        top = next(reversed(fake.views), None)
    if top is None:
        raise SlackApiFailure("not_found")
    if stack_depth(fake, top) >= MAX_STACK:
        raise SlackApiFailure("push_limit_reached")
    view_id = fake.workspace.new_id("V")
    root = fake.views[top]["root_view_id"]
    fake.views[view_id] = stored_view(fake, view, view_id=view_id, previous=top, root=root)
    return {"ok": True, "view": copy.deepcopy(fake.views[view_id])}


async def views_update(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    view = view_argument(params)
    view_id = params.get("view_id")
    if not view_id and params.get("external_id"):
        view_id = next((v["id"] for v in fake.views.values() if v["external_id"] == params["external_id"]), None)
    if not view_id and not params.get("external_id"):
        raise SlackApiFailure("invalid_arguments", messages=["[ERROR] missing required field: view_id"])
    current = fake.views.get(str(view_id)) if view_id else None
    if current is None:
        raise SlackApiFailure("not_found")
    wanted_hash = params.get("hash")
    if wanted_hash and wanted_hash != current["hash"]:
        raise SlackApiFailure("hash_conflict")
    updated = stored_view(
        fake, view, view_id=current["id"], previous=current["previous_view_id"], root=current["root_view_id"]
    )
    fake.views[current["id"]] = updated
    return {"ok": True, "view": copy.deepcopy(updated)}


VIEW_BYTES = 250_000  # views.publish: "view_too_large" over 250 kB (the method's reference page)


async def views_publish(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    """A person's Home tab, as Slack checks it: a `home` view within the view limits (100 blocks),
    at most 250 kB, for a person of the workspace, `not_enabled` unless the app enables its Home tab,
    and `hash_conflict` when the hash given is not the current view's."""
    required(params, "user_id")
    view = view_argument(params)
    if view.get("type") != "home":
        raise SlackApiFailure("invalid_arguments", messages=["[ERROR] must be home [json-pointer:/view/type]"])
    if len(json.dumps(view, separators=(",", ":")).encode()) > VIEW_BYTES:
        raise SlackApiFailure("view_too_large")
    if not fake.home_tab_enabled:
        raise SlackApiFailure("not_enabled")
    user_id = str(params["user_id"])
    if user_id not in fake.workspace.users:
        raise SlackApiFailure("invalid_arguments", messages=["invalid `user_id`"])
    current = fake.home_views.get(user_id)
    wanted_hash = params.get("hash")
    if wanted_hash and current is not None and wanted_hash != current["hash"]:
        raise SlackApiFailure("hash_conflict")
    view_id = current["id"] if current is not None else fake.workspace.new_id("V")
    published = stored_view(fake, view, view_id=view_id, previous=None, root=None)
    published.update(close=None, submit=None)
    fake.home_views[user_id] = published
    return {"ok": True, "view": copy.deepcopy(published)}


METHODS: dict[str, Handler] = {
    "views.open": views_open,
    "views.publish": views_publish,
    "views.push": views_push,
    "views.update": views_update,
}
