"""How each kind of Slack request travels: HTTP bodies and Socket Mode envelope types."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urlencode

Kind = Literal["command", "interactive", "event"]
EVENT_TYPES = {"event_callback", "url_verification", "app_rate_limited"}
ENVELOPE_TYPES: dict[str, str] = {"command": "slash_commands", "interactive": "interactive", "event": "events_api"}
CONTENT_TYPES: dict[str, str] = {
    "command": "application/x-www-form-urlencoded",
    "interactive": "application/x-www-form-urlencoded",
    "event": "application/json",
}
SLACK_HEADERS = {
    "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    "Accept": "application/json,*/*",
    "Accept-Encoding": "gzip,deflate",
}


def infer_kind(payload: dict[str, Any]) -> Kind:
    if "command" in payload and "type" not in payload:
        return "command"
    if payload.get("type") in EVENT_TYPES:
        return "event"
    return "interactive"


def body_for(payload: dict[str, Any], kind: Kind) -> str:
    """The raw HTTP body Slack sends for this kind of request."""
    if kind == "command":
        return urlencode({k: str(v) for k, v in payload.items()})
    compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    if kind == "interactive":
        return urlencode({"payload": compact})
    if kind == "event":
        return compact
    raise ValueError(f"kind must be command, interactive or event, not {kind!r}")
