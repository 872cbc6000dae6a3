"""What an alert subscription follows: one rule (`--rule <id>`), one tag (`--tag <tag>`) or every
alert of the space (`--all`). Parsed the same way from the command and from ALERTS_SUBSCRIPTION."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from bot.identifiers import RULE_ID_LIMIT, is_rule_id, is_space_id

Kind = Literal["rule", "tag", "all"]
FORMS = "`--rule <id>`, `--tag <tag>` or `--all`"

MAX_TAG = 255


class AlertFilterError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AlertFilter:
    kind: Kind
    value: str = ""  # the rule id or the tag; "" for all

    def words(self) -> str:
        return "--all" if self.kind == "all" else f"--{self.kind} {shlex.quote(self.value)}"


def parse_alert_filter(words: list[str]) -> AlertFilter:
    """Exactly one of `--rule <id>`, `--tag <tag>`, `--all` (also `--rule=<id>`, `--tag=<tag>`)."""
    found: list[AlertFilter] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, equals, inline = word.partition("=")
        if name in ("--rule", "--tag"):
            if equals:
                value = inline
            elif i + 1 < len(words) and not words[i + 1].startswith("--"):
                i += 1
                value = words[i]
            else:
                raise AlertFilterError(
                    f"`{name}` needs a value, e.g. `{name} {'my-rule-id' if name == '--rule' else 'prod'}`."
                )
            found.append(_checked(name[2:], value))  # type: ignore[arg-type]
        elif word == "--all":
            found.append(AlertFilter("all"))
        elif word.startswith("--"):
            raise AlertFilterError(f"`{_short(word)}` is not an option here; use {FORMS}.")
        else:
            raise AlertFilterError(f"`{_short(word)}` is not expected here; use {FORMS}.")
        i += 1
    if not found:
        raise AlertFilterError(f"Say which alerts: {FORMS}.")
    if len(found) > 1:
        raise AlertFilterError(f"Give one of {FORMS}, not several (subscribe twice for two).")
    return found[0]


def _checked(kind: Kind, value: str) -> AlertFilter:
    value = value.strip()
    if kind == "rule" and len(value) > RULE_ID_LIMIT:
        raise AlertFilterError(f"A rule id has at most {RULE_ID_LIMIT} characters; this one has {len(value)}.")
    if kind == "rule" and not is_rule_id(value):
        raise AlertFilterError(f"`{_short(value)}` is not a Kibana rule id (letters, digits, `_`, `.`, `:` and `-`).")
    if kind == "tag" and not (0 < len(value) <= MAX_TAG):
        raise AlertFilterError(f"A tag has 1 to {MAX_TAG} characters.")
    return AlertFilter(kind, value)


def parse_setting(text: str, default_space: str) -> tuple[AlertFilter, str]:
    """ALERTS_SUBSCRIPTION: a filter and an optional `--space <id>` (KIBANA_SPACE by default)."""
    try:
        words = shlex.split(text)
    except ValueError:
        raise AlertFilterError("a quote is not closed") from None
    space = default_space
    rest: list[str] = []
    i = 0
    while i < len(words):
        name, equals, inline = words[i].partition("=")
        if name == "--space":
            if equals:
                space = inline
            elif i + 1 < len(words):
                i += 1
                space = words[i]
            else:
                raise AlertFilterError("`--space` needs a space id")
            if not is_space_id(space):
                raise AlertFilterError(f"`{_short(space)}` is not a Kibana space id")
        else:
            rest.append(words[i])
        i += 1
    return parse_alert_filter(rest), space


def _short(value: str, limit: int = 40) -> str:
    value = value.replace("`", "'")
    return value if len(value) <= limit else value[: limit - 1] + "…"
