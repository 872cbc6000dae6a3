"""OAuth scopes, as Slack checks them: the bot token has the scopes the app was installed with (by
default exactly what the repository's manifest.json asks for), and a method whose scope it lacks is
answered `missing_scope`.

What Slack sends (docs.slack.dev, "Scopes and permissions"; the method reference pages):

- Every answer to a call made with a valid token carries `x-oauth-scopes` (the token's scopes,
  comma-separated; Bolt reads the bot's scopes from it on `auth.test`) and `x-accepted-oauth-scopes`
  (the scopes the method accepts).
- A call whose token has none of the scopes the method needs is answered
  `{"ok": false, "error": "missing_scope", "needed": "<scope>", "provided": "<the token's scopes>"}`
  with HTTP 200. `conversations.info` needs the scope of the conversation's kind: `channels:read`
  for a public channel, `groups:read` for a private one, `im:read` for a direct message and
  `mpim:read` for a group direct message; `conversations.history` likewise needs `channels:history`,
  `groups:history`, `im:history` or `mpim:history`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devkit.fake_slack.records import SlackApiFailure

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.json"

# Every Web API method the fake serves → the scopes it accepts (any one will do; empty: no scope).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "apps.connections.open": ("connections:write",),  # the app-level token's scope
    "auth.test": (),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write",),
    "chat.unfurl": ("links:write",),
    "chat.update": ("chat:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.join": ("channels:join",),
    "conversations.members": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "files.info": ("files:read",),
    "functions.completeError": (),
    "functions.completeSuccess": (),
    "usergroups.users.list": ("usergroups:read",),
    "users.info": ("users:read",),
    "views.open": (),
    "views.publish": (),
    "views.push": (),
    "views.update": (),
}
APP_TOKEN_SCOPES = ("connections:write",)


def read_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: give FakeSlack(scopes=[…]) the bot's scopes") from None
    return manifest


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    """The bot scopes manifest.json asks for, in its order."""
    return [str(scope) for scope in read_manifest(path)["oauth_config"]["scopes"]["bot"]]


def manifest_features(path: Path = MANIFEST) -> tuple[bool, list[str]]:
    """Whether manifest.json enables the Home tab, and the domains it unfurls (`features.unfurl_domains`)."""
    features = read_manifest(path).get("features", {})
    home = bool(features.get("app_home", {}).get("home_tab_enabled", False))
    return home, [str(domain) for domain in features.get("unfurl_domains", [])]


class Grant:
    """The scopes a token was installed with."""

    def __init__(self, scopes: Iterable[str]) -> None:
        self.scopes: list[str] = list(dict.fromkeys(scopes))

    def header(self) -> str:
        return ",".join(self.scopes)

    def require(self, *accepted: str) -> None:
        """Slack's `missing_scope` unless the token has one of `accepted` (nothing accepted: no scope needed)."""
        if accepted and not set(accepted) & set(self.scopes):
            raise SlackApiFailure("missing_scope", extra={"needed": ",".join(accepted), "provided": self.header()})

    def revoke(self, *scopes: str) -> None:
        self.scopes = [scope for scope in self.scopes if scope not in scopes]

    def grant(self, *scopes: str) -> None:
        self.scopes = list(dict.fromkeys([*self.scopes, *scopes]))
