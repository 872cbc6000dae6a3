"""Kibana's identifiers as the bot accepts them: a space id, a rule id and a case owner.

One definition of each, read by the settings, the Kibana client, the command grammar, the alert
intake and the values that come back from Slack in buttons and modals. The module imports
nothing of the bot, so that the settings can use it without loading the Kibana client (and
aiohttp with it) before a configuration error is reported.
"""

from __future__ import annotations

import re
from typing import Literal

# Kibana's rule for a space id (lower-case letters, digits, `_` and `-`), bounded at 100 characters.
SPACE_ID = re.compile(r"[a-z0-9_-]{1,100}")
# A rule id: a UUID, or the id given when the rule was created; letters, digits, `_`, `.`, `:`, `-`.
RULE_ID_LIMIT = 255
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,254}")
# Control characters (C0 but tab and line breaks, DEL, C1): no id or name Kibana shows has one.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Which Kibana app a case belongs to (the setting CASE_OWNER, and `owner` in the Cases API).
CaseOwner = Literal["cases", "observability", "securitySolution"]


def is_space_id(value: str) -> bool:
    return SPACE_ID.fullmatch(value) is not None


def is_rule_id(value: str) -> bool:
    return RULE_ID.fullmatch(value) is not None


def control_character(text: str) -> int | None:
    """Where the first control character of `text` is (tab and line breaks are not), or None."""
    found = CONTROL_CHARACTER.search(text)
    return found.start() if found is not None else None
