"""The Slack Web API methods the product code calls and the events it listens to, read from its
source: every slack_sdk method helper called in bot/ and handlers/ (`client.chat_postMessage(` →
chat.postMessage), the methods Bolt's listener utilities call for it (`AsyncComplete` →
functions.completeSuccess), and every `app.event("…")` / `app.function(…)` registration. The manifest's
scopes and event subscriptions (tests/devkit/test_manifest.py) and the docs' rate-limit table
(tests/unit/test_slack_docs.py) are checked against it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
HELPER_CALL = re.compile(r"\.((?:chat|conversations|users|usergroups|files|views|auth|apps|functions)_[A-Za-z_]+)\(")
# Bolt's listener utilities the code is given, and the Web API method each one calls
BOLT_UTILITIES = {
    "AsyncComplete": "functions.completeSuccess",
    "AsyncFail": "functions.completeError",
    "AsyncSay": "chat.postMessage",
}
EVENT_LISTENER = re.compile(r"\.event\(\s*[\"']([a-z_.]+)[\"']")
EVENT_TABLE = re.compile(r"events=\{([^}]*)\}")  # a feature's Contribution(events={"<type>": listener})
FUNCTION_LISTENER = re.compile(r"\.function\(")


def _sources() -> list[str]:
    return [path.read_text() for folder in ("bot", "handlers") for path in (ROOT / folder).rglob("*.py")]


def methods_the_code_calls() -> set[str]:
    found: set[str] = set()
    for source in _sources():
        found |= {helper.replace("_", ".") for helper in HELPER_CALL.findall(source)}
        found |= {method for utility, method in BOLT_UTILITIES.items() if re.search(rf"\b{utility}\b", source)}
    return found


def events_the_code_listens_to() -> set[str]:
    """The Events API events the bot registers listeners for: `app.event("…")`, a feature's
    `Contribution(events={"…": …})`, and function_executed for the Workflow Builder steps."""
    found: set[str] = set()
    for source in _sources():
        found |= set(EVENT_LISTENER.findall(source))
        for table in EVENT_TABLE.findall(source):
            found |= set(re.findall(r"\"([a-z_.]+)\"\s*:", table))
        if FUNCTION_LISTENER.search(source):
            found.add("function_executed")
    return found
