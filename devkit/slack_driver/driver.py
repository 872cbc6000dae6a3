"""`SlackDriver`: what a user does in Slack, as the requests Slack sends to the bot.

Every builder returns a payload with exactly the keys of a real one: the project's Slack
fixtures (tests/fixtures/slack/, each modelled on a real payload, see its README.md) hold those
keys, and tests/devkit/test_slack_driver_payloads.py compares every builder with them.
With a `FakeSlack`, response_urls and trigger_ids are live ones on that fake.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx

from devkit.slack_driver import state
from devkit.slack_driver.elements import action_for, action_ts, complete_view, find_element
from devkit.slack_driver.signing import sign
from devkit.slack_driver.transport import (
    CONTENT_TYPES,
    ENVELOPE_TYPES,
    SLACK_HEADERS,
    Kind,
    body_for,
    infer_kind,
)

if TYPE_CHECKING:
    from devkit.fake_slack import FakeSlack


class SlackDriver:
    """Builds, signs and sends the requests Slack would send for one user in one channel."""

    def __init__(
        self,
        *,
        signing_secret: str,
        events_url: str | None = None,
        fake_slack: FakeSlack | None = None,
        team_id: str = "T0001",
        team_domain: str = "acme",
        user_id: str = "U0ALICE",
        user_name: str = "alice",
        channel_id: str = "C0ALERTS",
        channel_name: str = "alerts",
        api_app_id: str = "A0001",
        verification_token: str = "legacy-verification-token",  # noqa: S107 - deprecated, never checked
    ) -> None:
        self._signing_secret = signing_secret
        self.events_url = events_url
        self.fake_slack = fake_slack
        self.team_id, self.team_domain = team_id, team_domain
        self.user_id, self.user_name = user_id, user_name
        self.channel_id, self.channel_name = channel_id, channel_name
        self.api_app_id = api_app_id
        self.token = verification_token
        self._serial = itertools.count(1)

    def __repr__(self) -> str:
        return f"SlackDriver(events_url={self.events_url!r}, user_id={self.user_id!r})"

    # ---- identity --------------------------------------------------------------------
    def _user_name(self, user_id: str) -> str:
        if user_id == self.user_id:
            return self.user_name
        if self.fake_slack is not None and user_id in self.fake_slack.users:
            return str(self.fake_slack.users[user_id]["name"])
        return user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        if channel_id == self.channel_id:
            return self.channel_name
        if self.fake_slack is not None and channel_id in self.fake_slack.channels:
            channel = self.fake_slack.channels[channel_id]
            return "directmessage" if channel.is_im else channel.name  # as slash commands name a DM
        return channel_id.lower()

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    def _response_url(self, kind: str, channel: str, user: str, message_ts: str | None = None) -> str:
        if self.fake_slack is not None:
            return self.fake_slack.response_url(channel=channel, message_ts=message_ts, user=user)
        return f"https://hooks.slack.com/{kind}/{self.team_id}/{next(self._serial)}/{secrets.token_urlsafe(18)}"

    def _trigger_id(self, view_id: str | None = None) -> str:
        if self.fake_slack is not None:
            return self.fake_slack.issue_trigger_id(view_id)
        return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"

    def _full_view(self, view: dict[str, Any]) -> dict[str, Any]:
        """The view as Slack sends it back: the fake's copy, or `view` completed with every key."""
        if self.fake_slack is not None and view.get("id") in self.fake_slack.views:
            return copy.deepcopy(self.fake_slack.views[view["id"]])
        if self.fake_slack is not None:  # a Home tab the fake published
            for home in self.fake_slack.home_views.values():
                if home["id"] == view.get("id"):
                    return copy.deepcopy(home)
        return complete_view(view, self.team_id, self.api_app_id, f"V{next(self._serial):010d}")

    # ---- payload builders ------------------------------------------------------------
    def slash_command(
        self, text: str, *, command: str = "/kibana", user_id: str | None = None, channel_id: str | None = None
    ) -> dict[str, str]:
        user, channel = user_id or self.user_id, channel_id or self.channel_id
        return {
            "token": self.token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": self._user_name(user),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url("commands", channel, user),
            "trigger_id": self._trigger_id(),
        }

    def _latest_message_with(self, channel: str, action_id: str, value: str | None) -> dict[str, Any]:
        if self.fake_slack is None:
            raise ValueError("block_action needs `message` (or `view`) when the driver has no fake_slack")
        for message in reversed(self.fake_slack.channel_messages(channel)):
            try:
                find_element(message.get("blocks", []), action_id, value, None)
            except ValueError:
                continue
            found: dict[str, Any] = message
            return found
        raise ValueError(f"no message in {channel} has an element {action_id!r} with value {value!r}")

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        message: dict[str, Any] | None = None,
        channel_id: str | None = None,
        user_id: str | None = None,
        block_id: str | None = None,
        view: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
    ) -> dict[str, Any]:
        """A click on (or choice in) an element of a message or, with `view`, of a modal.
        Without `message`, the newest message in the channel carrying that element is used."""
        user = user_id or self.user_id
        if view is not None:
            full = self._full_view(view)
            found_block, element = find_element(full["blocks"], action_id, value, block_id)
            return {
                "type": "block_actions",
                "user": self._user(user),
                "api_app_id": self.api_app_id,
                "token": self.token,
                "container": {"type": "view", "view_id": full["id"]},
                "trigger_id": self._trigger_id(full["id"]),
                "team": self._team(),
                "enterprise": None,
                "is_enterprise_install": False,
                "view": full,
                "actions": [action_for(found_block, element, value)],
            }
        channel = channel_id or self.channel_id
        msg = copy.deepcopy(message) if message is not None else self._latest_message_with(channel, action_id, value)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": msg["ts"],
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        }
        try:
            found_block, element = find_element(msg.get("blocks", []), action_id, value, block_id)
        except ValueError:  # an element of one of the app's unfurls under the message (chat.unfurl)
            found_block, element, container = _in_unfurl(msg, action_id, value, block_id, container)
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            container["thread_ts"] = msg["thread_ts"]
        input_values = state.state_values(
            [b for b in msg.get("blocks", []) if isinstance(b, dict) and b.get("type") == "input"], {}
        )
        return {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self.token,
            "container": container,
            "trigger_id": self._trigger_id(),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": self._channel_name(channel)},
            "message": msg,
            "state": {"values": input_values},
            "response_url": self._response_url("actions", channel, user, msg["ts"]),
            "actions": [action_for(found_block, element, value)],
        }

    def message_shortcut(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        user, channel = user_id or self.user_id, channel_id or self.channel_id
        return {
            "type": "message_action",
            "token": self.token,
            "action_ts": action_ts(),
            "team": self._team(),
            "user": {"id": user, "name": self._user_name(user)},
            "channel": {"id": channel, "name": self._channel_name(channel)},
            "callback_id": callback_id,
            "trigger_id": self._trigger_id(),
            "message_ts": message["ts"],
            "message": copy.deepcopy(message),
            "response_url": self._response_url("app", channel, user),
        }

    def view_submission(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user_id: str | None = None
    ) -> dict[str, Any]:
        """Submitting `view` with `values` ({block_id: {action_id: value or state entry}})."""
        user = user_id or self.user_id
        full = self._full_view(view)
        full["state"] = {"values": state.state_values(full["blocks"], values)}
        return {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self.token,
            "trigger_id": self._trigger_id(full["id"]),
            "view": full,
            "response_urls": self._view_response_urls(full, user),
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def block_suggestion(
        self, view: dict[str, Any], action_id: str, value: str = "", *, user_id: str | None = None
    ) -> dict[str, Any]:
        """Someone typing `value` into the external select `action_id` of the open modal `view`
        (reference/slack/payloads/g_block_suggestion.external_select_in_modal)."""
        user = user_id or self.user_id
        full = self._full_view(view)
        full.setdefault("state", {"values": {}})
        block_id = next(
            block_id for block_id, element, _ in state.stateful_elements(full["blocks"])
            if element.get("action_id") == action_id
        )  # fmt: skip
        return {
            "type": "block_suggestion",
            "user": self._user(user),
            "container": {"type": "view", "view_id": full["id"]},
            "api_app_id": self.api_app_id,
            "token": self.token,
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": self._team(),
            "view": full,
        }

    def _view_response_urls(self, view: dict[str, Any], user: str) -> list[dict[str, Any]]:
        urls = []
        for block_id, by_action in view["state"]["values"].items():
            for action_id, entry in by_action.items():
                channel = entry.get("selected_conversation") or entry.get("selected_channel")
                if entry.get("response_url_enabled") and channel:
                    url = self._response_url("app", channel, user)
                    urls.append(
                        {"block_id": block_id, "action_id": action_id, "channel_id": channel, "response_url": url}
                    )
        return urls

    def view_closed(
        self, view: dict[str, Any], *, is_cleared: bool = False, user_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id or self.user_id),
            "api_app_id": self.api_app_id,
            "token": self.token,
            "view": self._full_view(view),
            "is_cleared": is_cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def event_callback(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        now = int(time.time())
        bot_user = self.fake_slack.workspace.bot_user_id if self.fake_slack is not None else "U0BOT"
        event = copy.deepcopy(event)
        if "ts" in event:
            event.setdefault("event_ts", event["ts"])
        return {
            "token": self.token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": bot_user,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }

    def function_executed(
        self, callback_id: str, inputs: dict[str, Any] | None = None, *, run_by: str | None = None
    ) -> dict[str, Any]:
        """A workflow reaching the app's step `callback_id`: the `function_executed` event, with the
        step's definition from the fake's manifest. Inputs of type user_context are filled with the
        person who used the workflow (`run_by`, by default the driver's user), as Workflow Builder does;
        the fake records the execution (`fake_slack.functions.executions[...]`) and how it ends."""
        if self.fake_slack is None:
            raise ValueError("SlackDriver.function_executed needs fake_slack (the step's execution lives there)")
        definition = self.fake_slack.functions.definitions.get(callback_id, {})
        given = dict(inputs or {})
        for name, parameter in (definition.get("input_parameters") or {}).items():
            if parameter.get("type") == "slack#/types/user_context" and name not in given:
                given[name] = {"secret": secrets.token_urlsafe(20), "id": run_by or self.user_id}
        execution = self.fake_slack.start_step(callback_id, given)
        now = time.time()
        as_list = [  # the event lists parameters; the manifest keys them by name
            {key: value for key, value in p.items() if key in ("type", "name", "description", "title", "is_required")}
            for group in ("input_parameters", "output_parameters")
            for p in (definition.get(group) or {}).values()
        ]
        inputs_listed = len(definition.get("input_parameters") or {})
        event = {
            "type": "function_executed",
            "function": {
                "id": f"Fn{secrets.token_hex(5).upper()}",
                "callback_id": callback_id,
                "title": definition.get("title", callback_id),
                "description": definition.get("description", ""),
                "type": "app",
                "input_parameters": as_list[:inputs_listed],
                "output_parameters": as_list[inputs_listed:],
                "app_id": self.api_app_id,
                "date_created": int(now) - 86400,
                "date_updated": int(now) - 3600,
                "date_deleted": 0,
            },
            "inputs": given,
            "function_execution_id": execution.id,
            "workflow_execution_id": execution.workflow_execution_id,
            "event_ts": f"{now:.6f}",
            "bot_access_token": execution.token,
        }
        return self.event_callback(event)

    def app_home_opened(self, *, user_id: str | None = None, tab: str = "home") -> dict[str, Any]:
        """The person opens the app's Home tab (or its Messages tab, `tab="messages"`): Slack's
        `app_home_opened` event, with the Home view already published for them, when there is one."""
        user = user_id or self.user_id
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": f"D{user.removeprefix('U')[:9]}",
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        published = self.fake_slack.home_views.get(user) if self.fake_slack is not None else None
        if published is not None:
            event["view"] = copy.deepcopy(published)
        return self.event_callback(event)

    def link_shared(
        self, text: str, *, channel_id: str | None = None, user_id: str | None = None, composer: bool = False
    ) -> dict[str, Any]:
        """The person posts (or, `composer`, types) `text` holding links to the app's unfurl domains:
        the message is posted on the fake and Slack's `link_shared` event comes back."""
        if self.fake_slack is None:
            raise ValueError("link_shared needs fake_slack")
        event = self.fake_slack.share_links(
            channel_id or self.channel_id, text, user=user_id or self.user_id, composer=composer
        )
        if event is None:
            raise ValueError(f"no link in {text!r} is to the app's unfurl domains {self.fake_slack.unfurl_domains}")
        return self.event_callback(event)

    def message_event(
        self, message: dict[str, Any], *, channel_id: str | None = None, event_id: str | None = None
    ) -> dict[str, Any]:
        """The `message` event Slack sends for a person's message (`message.channels` in a public
        channel, `message.groups` in a private one): the message as stored, with its channel."""
        channel = channel_id or self.channel_id
        private = self.fake_slack is not None and channel in self.fake_slack.channels
        private = private and bool(self.fake_slack and self.fake_slack.channels[channel].is_private)
        keys = ("user", "text", "ts", "team", "blocks", "client_msg_id", "thread_ts", "parent_user_id", "files")
        event = {"type": "message", **{k: copy.deepcopy(message[k]) for k in keys if k in message}}
        if event.get("thread_ts") == event.get("ts"):
            del event["thread_ts"]  # a thread's parent is sent as a plain message
        event.update(channel=channel, channel_type="group" if private else "channel")
        return self.event_callback(event, event_id=event_id)

    async def post_with_retries(
        self, payload: dict[str, Any], *, retries: int, retry_reason: str = "http_timeout"
    ) -> list[httpx.Response]:
        """Deliver an event as Slack does when it thinks the app missed it: once, then `retries`
        more times with the same event_id and `X-Slack-Retry-Num` 1, 2, …"""
        answers = [await self.post(payload)]
        for number in range(1, retries + 1):
            answers.append(await self.post(payload, retry_num=number, retry_reason=retry_reason))
        return answers

    def url_verification(self, challenge: str | None = None) -> dict[str, Any]:
        return {"token": self.token, "challenge": challenge or secrets.token_urlsafe(36), "type": "url_verification"}

    # ---- transports ------------------------------------------------------------------
    async def post(
        self,
        payload: dict[str, Any],
        *,
        kind: Kind | None = None,
        client: httpx.AsyncClient | None = None,
        timestamp: int | None = None,
        signing_secret: str | None = None,
        headers: dict[str, str] | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        url: str | None = None,
    ) -> httpx.Response:
        """Send `payload` over HTTP as Slack does, signed (override the secret/timestamp/headers
        to send a badly signed or stale request)."""
        target = url or self.events_url
        if target is None:
            raise ValueError("SlackDriver.post needs events_url (or url=…)")
        kind = kind or infer_kind(payload)
        body = body_for(payload, kind)
        sent = {**SLACK_HEADERS, "Content-Type": CONTENT_TYPES[kind]}
        sent.update(sign(signing_secret or self._signing_secret, body, timestamp))
        if retry_num is not None:
            sent.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason})
        sent.update(headers or {})
        if client is not None:
            return await client.post(target, content=body.encode("utf-8"), headers=sent)
        async with httpx.AsyncClient(timeout=10.0) as own:
            return await own.post(target, content=body.encode("utf-8"), headers=sent)

    async def send_socket(
        self,
        payload: dict[str, Any],
        kind: Kind | None = None,
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109 - the ack wait is bounded by design
    ) -> dict[str, Any]:
        """Deliver `payload` over the fake's Socket Mode connection; returns the app's ack."""
        if self.fake_slack is None:
            raise ValueError("SlackDriver.send_socket needs fake_slack")
        return await self.fake_slack.deliver(
            ENVELOPE_TYPES[kind or infer_kind(payload)],
            payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
        )


def _in_unfurl(
    message: dict[str, Any], action_id: str, value: str | None, block_id: str | None, container: dict[str, Any]
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The element in one of the app's unfurls of `message`, and the container Slack names for a click
    there: `message_attachment`, with the attachment's id and its unfurled URL."""
    for number, attachment in enumerate(message.get("attachments") or [], start=1):
        if not attachment.get("is_app_unfurl"):
            continue
        try:
            found_block, element = find_element(attachment.get("blocks", []), action_id, value, block_id)
        except ValueError:
            continue
        unfurl = {
            **container,
            "type": "message_attachment",
            "attachment_id": number,
            "is_app_unfurl": True,
            "app_unfurl_url": attachment.get("app_unfurl_url"),
        }
        return found_block, element, unfurl
    raise ValueError(f"no element {action_id!r} with value {value!r} in the message or its unfurls")
