"""The Slack scopes the bot needs, what the bot token was granted, and the sentence for a refusal.

Slack answers a method whose scope the bot token lacks with `missing_scope` (`needed`: the scope,
`provided`: the token's scopes), and names a token's scopes in the `x-oauth-scopes` header of its
answers (Bolt reads the bot's from `auth.test`'s). Such a refusal never counts as permission: it is
told in a sentence that names the scope and says to reinstall the app from manifest.json
(handlers/shared/channels.py, handlers/shared/errors.py), and `python -m bot check` names the scopes
the bot token lacks (bot/checks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# Every Web API method the bot calls → the bot scopes it accepts (any one does; empty: none needed),
# from each method's reference page on docs.slack.dev. apps.connections.open takes the app-level
# token, whose `connections:write` is not a bot scope.
METHOD_SCOPES: Mapping[str, tuple[str, ...]] = {
    "apps.connections.open": (),
    "auth.test": (),
    "chat.getPermalink": (),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write",),
    "chat.unfurl": ("links:write",),
    "chat.update": ("chat:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    # the scope of the conversation's kind: public channel, private channel, direct message, group DM
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    # who is in a channel a Kibana link was shared in (handlers/unfurls/audience.py)
    "conversations.members": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "files.info": ("files:read",),  # and the download of the file's url_private_download
    # a Workflow Builder step's end (Bolt's complete() and fail()), called with the step's own token
    "functions.completeError": (),
    "functions.completeSuccess": (),
    "usergroups.users.list": ("usergroups:read",),
    "users.info": ("users:read",),  # the name of a synced reply's author, in its case comment
    "views.open": (),
    "views.publish": (),
    "views.update": (),
}
# Scopes that come with a feature rather than a method: the slash command and the message shortcut.
FEATURE_SCOPES: tuple[str, ...] = ("commands",)
# Every Events API event the bot listens to, as manifest.json's `bot_events` names it → the bot scopes
# it needs (docs.slack.dev's event reference pages): the Home tab, links to the manifest's
# `unfurl_domains` (links:read), the Workflow Builder steps, and the replies of synced case threads
# (the `message` event, subscribed to in public and private channels only).
EVENT_SCOPES: Mapping[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "function_executed": (),
    "link_shared": ("links:read",),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
}


def event_type(subscription: str) -> str:
    """The event type a listener registers for a `bot_events` subscription: `message.channels` → `message`."""
    return subscription.split(".", 1)[0]


# Methods of which the bot asks only some of the scopes they accept. conversations.history: the alert
# publisher reads the recent history of the channels it posts alert messages in (public and private
# channels, never direct messages) to find a message posted before a crash (handlers/alerts/adoption.py).
ASKED_SCOPES: Mapping[str, tuple[str, ...]] = {"conversations.history": ("channels:history", "groups:history")}
# Scopes the bot works without, doing less: `python -m bot check` warns instead of failing. Without the
# history scopes a replica that dies between posting an alert message and recording it may post it twice;
# without the link scopes Kibana links are not unfurled.
OPTIONAL_SCOPES: Mapping[str, str] = {
    "channels:history": (
        "an alert message posted just before a crash may be posted again, and synced threads of public "
        "channels send no replies to their cases"
    ),
    "groups:history": (
        "an alert message posted just before a crash may be posted again, and synced threads of private "
        "channels send no replies to their cases"
    ),
    "users:read": "case comments from synced threads name their author by Slack id only",
    # Unfurls of Kibana links (issue 29): without them links stay plain links.
    "links:read": "Kibana links shared in Slack are not unfurled",
    "links:write": "Kibana links shared in Slack are not unfurled",
}


class Answer(Protocol):
    """A Slack answer: slack_sdk's response, or its data."""

    def get(self, key: str, default: None = None) -> Any: ...


REINSTALL = "an admin of the Slack app adds it by reinstalling the app with the bot's manifest.json"


def needed_scopes() -> frozenset[str]:
    """Every bot scope the bot needs (manifest.json asks for exactly these; a test keeps them equal)."""
    return frozenset(FEATURE_SCOPES).union(
        *(ASKED_SCOPES.get(m, scopes) for m, scopes in METHOD_SCOPES.items()), *EVENT_SCOPES.values()
    )


def granted_scopes(headers: Mapping[str, object]) -> frozenset[str] | None:
    """The token's scopes from an answer's `x-oauth-scopes` header; None when Slack sent none."""
    value = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if not isinstance(value, str):
        return None
    return frozenset(scope.strip() for scope in value.split(",") if scope.strip())


def missing_scopes(answer: Answer) -> list[str] | None:
    """The scopes a `missing_scope` answer says are needed (Slack may name several, comma-separated);
    None for any other answer."""
    if answer.get("error") != "missing_scope":
        return None
    needed = answer.get("needed")
    return [s.strip() for s in needed.split(",") if s.strip()] if isinstance(needed, str) else []


def scopes_text(scopes: list[str]) -> str:
    """`im:read`, or `channels:read` or `groups:read` (Slack's `needed` lists the ones that would do)."""
    return " or ".join(f"`{scope}`" for scope in scopes) if scopes else "a scope Slack did not name"


def lacks_scope(answer: Answer) -> str | None:
    """For a `missing_scope` answer: "the Slack app lacks the scope `im:read`; an admin … manifest.json"."""
    needed = missing_scopes(answer)
    if needed is None:
        return None
    return f"the Slack app lacks the scope {scopes_text(needed)}; {REINSTALL}"
