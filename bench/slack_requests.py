"""Request templates for the load generator: real-shaped Slack requests and Kibana webhooks.

`__RURL__` marks the response_url (the load generator puts a live one on the fake Slack)
and `__N__` the request's number; the load generator signs each request as Slack does.
"""

from __future__ import annotations

import json
from typing import Any

from bench.servers import ALERT_CHANNEL, ALERT_ID, RULE_ID, SIGNING_SECRET, WEBHOOK_TOKEN
from devkit.slack_driver import SlackDriver, body_for

FORM = "application/x-www-form-urlencoded"
EVENTS_PATH = "/slack/events"
WEBHOOK_PATH = "/kibana/alerts"


def _driver() -> SlackDriver:
    return SlackDriver(signing_secret=SIGNING_SECRET, channel_id=ALERT_CHANNEL)


def command(text: str = f"mute {RULE_ID} {ALERT_ID}") -> dict[str, Any]:
    """A signed `/kibana <text>` slash command."""
    payload = _driver().slash_command(text)
    payload["response_url"] = "__RURL__"
    return {"path": EVENTS_PATH, "body": body_for(payload, "command"), "content_type": FORM, "sign": True}


def button(message: dict[str, Any], action_id: str = "alert_mute") -> dict[str, Any]:
    """A signed click on a button of an alert message the bot posted."""
    payload = _driver().block_action(action_id, message=message, channel_id=ALERT_CHANNEL)
    payload["response_url"] = "__RURL__"
    return {"path": EVENTS_PATH, "body": body_for(payload, "interactive"), "content_type": FORM, "sign": True}


def alert_delivery(alert_id: str = "host-__N__", uuid_suffix: str = "__N__") -> dict[str, Any]:
    """What Kibana's Webhook connector sends for docs/alerts.md's body (an active alert)."""
    body = {
        "rule_id": RULE_ID,
        "rule_name": "CPU high",
        "space_id": "default",
        "alert_id": alert_id,
        "alert_uuid": f"8f0c2a4e-1111-4c3b-9d1e-{uuid_suffix}",
        "action_group": "threshold met",
        "reason": f'CPU on "{alert_id}" is 97%\nabove the 90% threshold',
        "rule_url": f"https://kibana.example.com/app/observability/alerts/rules/{RULE_ID}",
        "tags": "prod,db",
        "date": "2025-03-04T10:42:07.123Z",
        "channel": "",
    }
    return {
        "path": WEBHOOK_PATH,
        "body": json.dumps(body),
        "content_type": "application/json",
        "headers": {"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
        "sign": False,
    }
