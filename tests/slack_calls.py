"""The Slack Web API methods the product code calls, read from its source: every slack_sdk method
helper called in bot/ and handlers/ (`client.chat_postMessage(` → chat.postMessage). The manifest's
scopes (tests/devkit/test_manifest.py) and the docs' rate-limit table (tests/unit/test_slack_docs.py)
are checked against it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
HELPER_CALL = re.compile(r"\.((?:chat|conversations|users|usergroups|files|views|auth|apps)_[A-Za-z_]+)\(")


def methods_the_code_calls() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= {helper.replace("_", ".") for helper in HELPER_CALL.findall(path.read_text())}
    return found
