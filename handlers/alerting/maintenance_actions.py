"""`mw start|list|end`: Kibana maintenance windows from Slack, their rows of the catalog, their
arguments, their parser and their sentences for Kibana's errors."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.access import Role
from bot.kibana.errors import KibanaError, KibanaForbidden, KibanaNotFound, KibanaRouteNotFound
from handlers.shared.blocks import code
from handlers.shared.catalog import Action, Actions
from handlers.shared.errors import Doing, where
from handlers.shared.grammar import Command, UsageError, arity, bounded, duration, duration_minutes, short

MW_START = Action(
    "mw start",
    "mw start <duration> [--title <text>] [--tag <rule tag>]…   (Kibana 8.19+/9.1+, Platinum)",
    Role.OPERATOR,
    "start maintenance windows (`mw start`)",
)
MW_LIST = Action("mw list", "mw list", Role.OPERATOR, "list maintenance windows (`mw list`)", read_only=True)
MW_END = Action("mw end", "mw end <id>", Role.OPERATOR, "end maintenance windows (`mw end`)")

DEFAULT_TITLE = "Maintenance from Slack"
TITLE_LIMIT = 200
TAG_LIMIT = 100
MAX_TAGS = 10
LONGEST_MINUTES = 30 * 24 * 60  # a window from chat is for a deploy or an incident, not a season
_WINDOW_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAVED_OBJECT_MISSING = re.compile(r"Saved object \[maintenance-window/(?P<id>[^\]]*)\] not found")


@dataclass(frozen=True)
class StartArgs:
    duration: str
    title: str = DEFAULT_TITLE
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndArgs:
    id: str


def _start(words: list[str]) -> Command:
    plain: list[str] = []
    title: str | None = None
    tags: list[str] = []
    rest = iter(words)
    for word in rest:
        if word in ("--title", "--tag"):
            value = next(rest, None)
            if value is None or not value.strip():
                raise UsageError(f"`{word}` needs a value after it.", MW_START.name)
            if word == "--title":
                if title is not None:
                    raise UsageError("Give `--title` once.", MW_START.name)
                title = bounded(value.strip(), "title", TITLE_LIMIT, MW_START.name)
            else:
                tags.append(_tag(value))
        elif word.startswith("--"):
            raise UsageError(f"`mw start` has no option `{short(word)}`.", MW_START.name)
        else:
            plain.append(word)
    if not plain:
        raise UsageError("Say how long the window lasts, like `mw start 2h`.", MW_START.name)
    arity(plain, MW_START.name, 1, 1)
    length = duration(plain[0], MW_START.name)
    if not 1 <= duration_minutes(length) <= LONGEST_MINUTES:
        raise UsageError("A maintenance window from Slack lasts between 1 minute and 30 days.", MW_START.name)
    if len(tags) > MAX_TAGS:
        raise UsageError(f"Name at most {MAX_TAGS} rule tags.", MW_START.name)
    return Command(MW_START.name, StartArgs(length, title or DEFAULT_TITLE, tuple(dict.fromkeys(tags))))


def _tag(value: str) -> str:
    tag = bounded(value.strip(), "rule tag", TAG_LIMIT, MW_START.name)
    if '"' in tag or "\\" in tag:
        raise UsageError('A rule tag for a window cannot hold `"` or `\\`.', MW_START.name)
    return tag


def _mw(words: list[str]) -> Command:
    if not words:
        raise UsageError("Which `mw` command: `start`, `list` or `end`?", MW_START.name)
    sub, rest = words[0].lower(), words[1:]
    if sub == "start":
        return _start(rest)
    if sub == "list":
        arity(rest, MW_LIST.name, 0, 0)
        return Command(MW_LIST.name)
    if sub == "end":
        arity(rest, MW_END.name, 1, 1)
        if not _WINDOW_ID.fullmatch(rest[0]):
            raise UsageError(f"`{short(rest[0])}` is not a maintenance window id.", MW_END.name)
        return Command(MW_END.name, EndArgs(rest[0]))
    raise UsageError(f"`mw` has no subcommand `{short(sub)}`.", MW_START.name)


def kql_of(tags: tuple[str, ...]) -> str | None:
    """The window's scope: alerts of rules with any of `tags` (alerts-as-data's `kibana.alert.rule.tags`)."""
    if not tags:
        return None
    return " or ".join(f'kibana.alert.rule.tags: "{tag}"' for tag in tags)


def explain(error: KibanaError, doing: Doing) -> str | None:
    path = error.path or ""
    if "/api/maintenance_window" not in path:
        return None
    cmd = doing.command
    if isinstance(error, KibanaRouteNotFound):
        version = f"This Kibana ({doing.kibana_version})" if doing.kibana_version else "This Kibana"
        return (
            f"{version} has no public maintenance-window API, so nothing was changed. Kibana has it from 8.19 on 8.x "
            "and from 9.1 on 9.x, with a Platinum licence; until then, snooze the rules "
            f"(`{cmd} snooze <rule_id> 2h`)."
        )
    if isinstance(error, KibanaForbidden) and "license" in error.message.lower():
        return (
            "Kibana refused: its maintenance windows need a Platinum licence or better, so nothing was changed. "
            f"Snooze the rules instead (`{cmd} snooze <rule_id> 2h`), or upgrade the licence in Kibana."
        )
    if isinstance(error, KibanaForbidden):
        return (
            f"Kibana refused: the key used lacks the *Maintenance windows* privilege {where(doing)}. "
            "Ask a Kibana admin to grant it (All, to start and end windows)."
        )
    missing = _SAVED_OBJECT_MISSING.search(error.message) if isinstance(error, KibanaNotFound) else None
    if missing and missing.group("id") == "_find":  # 8.19 and 9.1 route `_find` to GET …/{id}
        version = f"This Kibana ({doing.kibana_version})" if doing.kibana_version else "This Kibana"
        return (
            f"{version} cannot list maintenance windows through its public API (Kibana can from 9.2). "
            f"See them in Kibana under *Stack Management → Maintenance windows*; `{cmd} mw end <id>` still ends one."
        )
    if missing:
        return (
            f"There is no maintenance window {code(missing.group('id'))} {where(doing)}. "
            f"See the windows with `{cmd} mw list` (add `--space <id>` for another space)."
        )
    return None


ACTIONS = Actions(rows=(MW_START, MW_LIST, MW_END), parsers={"mw": _mw}, explain=explain)
