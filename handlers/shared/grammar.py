"""The `/kibana` command grammar, as a pure function.

`parse(text)` turns what the user typed into a `Command` or raises `UsageError`
carrying the usage of the nearest command. Nothing here talks to Slack or Kibana,
and no input makes it raise anything else (tested with hypothesis).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from bot.alert_filters import AlertFilter, AlertFilterError, parse_alert_filter
from bot.identifiers import RULE_ID, SPACE_ID
from handlers.shared.catalog import USAGE

MAX_TEXT = 2000  # characters; Slack allows more, nobody types more

AGENT_KEY_PRIVILEGES = ("event:write", "config_agent:read")

_ID = RULE_ID
_SPACE = SPACE_ID
_DURATION = re.compile(r"^(\d{1,4})([mhdw])$")
_DURATION_LIMIT_MINUTES = 365 * 24 * 60
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


class UsageError(ValueError):
    """Bad input; `usage` is the usage line of the nearest command (or None for `help`)."""

    def __init__(self, message: str, command: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = command

    @property
    def usage(self) -> str | None:
        return USAGE.get(self.command) if self.command else None


# ---- what each command carries, typed -------------------------------------------------


@dataclass(frozen=True)
class NoArgs:
    pass


@dataclass(frozen=True)
class HelpArgs:
    topic: str = ""


@dataclass(frozen=True)
class SubscribeArgs:
    schedule: str
    on_change: bool = False


@dataclass(frozen=True)
class UnsubscribeArgs:
    target: int | Literal["all"] = "all"


@dataclass(frozen=True)
class AlertSubscribeArgs:
    filter: AlertFilter


@dataclass(frozen=True)
class SearchArgs:
    search: str = ""


@dataclass(frozen=True)
class RuleArgs:
    rule_id: str


@dataclass(frozen=True)
class AlertArgs:
    rule_id: str
    alert_id: str


@dataclass(frozen=True)
class DisableArgs:
    rule_id: str
    untrack: bool = False


@dataclass(frozen=True)
class SnoozeArgs:
    rule_id: str
    duration: str


@dataclass(frozen=True)
class UnsnoozeArgs:
    rule_id: str
    schedule_id: str | None = None


@dataclass(frozen=True)
class CaseArgs:
    title: str = ""


@dataclass(frozen=True)
class ServiceArgs:
    service: str | None = None


@dataclass(frozen=True)
class ConfigSetArgs:
    service: str
    environment: str | None
    settings: dict[str, str]
    overwrite: bool = False


@dataclass(frozen=True)
class AgentKeyArgs:
    name: str
    privileges: tuple[str, ...]


@dataclass(frozen=True)
class SourceMapArgs:
    id: str


@dataclass(frozen=True)
class CanIArgs:
    action: str


@dataclass(frozen=True)
class AuditArgs:
    rule_id: str | None = None
    limit: int = 20


Args = (
    NoArgs
    | HelpArgs
    | SubscribeArgs
    | UnsubscribeArgs
    | AlertSubscribeArgs
    | SearchArgs
    | RuleArgs
    | AlertArgs
    | DisableArgs
    | SnoozeArgs
    | UnsnoozeArgs
    | CaseArgs
    | ServiceArgs
    | ConfigSetArgs
    | AgentKeyArgs
    | SourceMapArgs
    | CanIArgs
    | AuditArgs
)
A = TypeVar("A", bound=Args)


@dataclass(frozen=True)
class Command:
    action: str  # a name of the action catalog
    args: Args = field(default_factory=NoArgs)
    space: str | None = None

    def args_as(self, kind: type[A]) -> A:
        """The arguments, as the kind the route expects (TypeError when the grammar gave another)."""
        if not isinstance(self.args, kind):
            raise TypeError(f"`{self.action}` carries {type(self.args).__name__}, not {kind.__name__}")
        return self.args

    @property
    def rule_id(self) -> str | None:
        return getattr(self.args, "rule_id", None)

    @property
    def alert_id(self) -> str | None:
        return getattr(self.args, "alert_id", None)


def parse(text: str) -> Command:
    """Parse the text after the slash command."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    try:
        words = shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise UsageError("A quote is not closed.") from None
    words, space = _take_space(words)
    if not words:
        return Command("help", HelpArgs(), space=space)
    head, rest = words[0].lower(), words[1:]
    parser = _PARSERS.get(head)
    if parser is None:
        near = _nearest(head)
        hint = f" Did you mean `{near}`?" if near else ""
        raise UsageError(f"I don't know the command `{_short(head)}`.{hint}", near)
    command = parser(rest)
    return Command(command.action, command.args, space)


def _take_space(words: list[str]) -> tuple[list[str], str | None]:
    out: list[str] = []
    space: str | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--space" or word.startswith("--space="):
            if "=" in word:
                value = word.split("=", 1)[1]
            elif i + 1 < len(words):
                i += 1
                value = words[i]
            else:
                raise UsageError("`--space` needs a space id, e.g. `--space ops`.")
            if not _SPACE.fullmatch(value):
                raise UsageError(f"`{_short(value)}` is not a Kibana space id (lower-case letters, digits, _ and -).")
            if space is not None and space != value:
                raise UsageError("`--space` is given twice with different values.")
            space = value
        else:
            out.append(word)
        i += 1
    return out, space


def _nearest(word: str) -> str | None:
    import difflib

    heads = sorted({k.split(" ")[0] for k in USAGE})
    match = difflib.get_close_matches(word, heads, n=1, cutoff=0.6)
    if not match:
        return None
    candidates = [k for k in USAGE if k.split(" ")[0] == match[0]]
    return candidates[0]


def _short(value: str, limit: int = 40) -> str:
    value = value.replace("`", "'")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _flags(words: list[str], allowed: set[str], command: str) -> tuple[list[str], set[str]]:
    plain = [w for w in words if not w.startswith("--")]
    flags = {w for w in words if w.startswith("--")}
    unknown = flags - allowed
    if unknown:
        flag = sorted(unknown)[0]
        raise UsageError(f"`{command}` has no option `{_short(flag)}`.", command)
    return plain, flags


def is_identifier(value: str) -> bool:
    """A rule id, schedule id or key name as the command accepts it."""
    return bool(_ID.fullmatch(value))


def is_space_id(value: str) -> bool:
    return bool(_SPACE.fullmatch(value))


def _identifier(value: str, what: str, command: str) -> str:
    if not _ID.fullmatch(value):
        raise UsageError(f"`{_short(value)}` is not a valid {what}.", command)
    return value


def _arity(words: list[str], command: str, minimum: int, maximum: int) -> None:
    if len(words) < minimum:
        raise UsageError("Something is missing.", command)
    if len(words) > maximum:
        raise UsageError(f"Too many words: `{_short(' '.join(words[maximum:]))}`.", command)


# --- one parser per command ---------------------------------------------------------


def _help(words: list[str]) -> Command:
    return Command("help", HelpArgs(" ".join(words).lower()))


def _health(words: list[str]) -> Command:
    if not words:
        return Command("health")
    sub, rest = words[0].lower(), words[1:]
    if sub == "subscribe":
        plain, flags = _flags(rest, {"--on-change"}, "health subscribe")
        if not plain:
            raise UsageError("Say when to post the report.", "health subscribe")
        return Command("health subscribe", SubscribeArgs(" ".join(plain), "--on-change" in flags))
    if sub == "unsubscribe":
        _flags(rest, set(), "health unsubscribe")
        _arity(rest, "health unsubscribe", 0, 1)
        target = rest[0].lower() if rest else "all"
        if target != "all" and not target.isdigit():
            raise UsageError(f"`{_short(target)}` is not a subscription id.", "health unsubscribe")
        return Command("health unsubscribe", UnsubscribeArgs("all" if target == "all" else int(target)))
    if sub in {"subscriptions", "subs", "list"}:
        _arity(rest, "health subscriptions", 0, 0)
        return Command("health subscriptions")
    raise UsageError(f"`health` has no subcommand `{_short(sub)}`.", "health")


def _alerts(words: list[str]) -> Command:
    if not words:
        raise UsageError("Which `alerts` command?", "alerts subscribe")
    sub, rest = words[0].lower(), words[1:]
    if sub == "subscribe":
        try:
            return Command("alerts subscribe", AlertSubscribeArgs(parse_alert_filter(rest)))
        except AlertFilterError as error:
            raise UsageError(error.message, "alerts subscribe") from None
    if sub == "unsubscribe":
        _flags(rest, set(), "alerts unsubscribe")
        if not rest:
            raise UsageError(
                "Say which subscription to remove: its id (see `alerts subscriptions`) or `all`.", "alerts unsubscribe"
            )
        _arity(rest, "alerts unsubscribe", 1, 1)
        target = rest[0].lower().lstrip("#")
        if target != "all" and not target.isdigit():
            raise UsageError(f"`{_short(target)}` is not a subscription id.", "alerts unsubscribe")
        return Command("alerts unsubscribe", UnsubscribeArgs("all" if target == "all" else int(target)))
    if sub in {"subscriptions", "subs", "list"}:
        _arity(rest, "alerts subscriptions", 0, 0)
        return Command("alerts subscriptions")
    raise UsageError(f"`alerts` has no subcommand `{_short(sub)}`.", "alerts subscribe")


def _rules(words: list[str]) -> Command:
    plain, _ = _flags(words, set(), "rules")
    return Command("rules", SearchArgs(" ".join(plain)))


def _one_rule(action: str, flags: set[str] | None = None) -> Callable[[list[str]], Command]:
    def parse_it(words: list[str]) -> Command:
        plain, given = _flags(words, flags or set(), action)
        _arity(plain, action, 1, 1)
        rule_id = _identifier(plain[0], "rule id", action)
        if action == "disable":
            return Command(action, DisableArgs(rule_id, "--untrack" in given))
        return Command(action, RuleArgs(rule_id))

    return parse_it


def _alert(action: str) -> Callable[[list[str]], Command]:
    def parse_it(words: list[str]) -> Command:
        plain, _ = _flags(words, set(), action)
        _arity(plain, action, 2, 2)
        rule_id = _identifier(plain[0], "rule id", action)
        if not plain[1] or len(plain[1]) > 512:
            raise UsageError("The alert id must be 1 to 512 characters.", action)
        return Command(action, AlertArgs(rule_id, plain[1]))

    return parse_it


def parse_duration(value: str) -> str:
    """`30m`, `4h`, `1d`, `2w` → Kibana's `<int><d|h|m>`; raises UsageError."""
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        raise UsageError(f"`{_short(value)}` is not a duration; use 30m, 4h, 1d or 2w.", "snooze")
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "w":
        amount, unit = amount * 7, "d"
    minutes = amount * {"m": 1, "h": 60, "d": 1440}[unit]
    if minutes < 1 or minutes > _DURATION_LIMIT_MINUTES:
        raise UsageError("A snooze lasts between 1 minute and 365 days.", "snooze")
    return f"{amount}{unit}"


def duration_minutes(duration: str) -> int:
    """The length of a duration `parse_duration` returned (`<int><m|h|d>`), in minutes."""
    return int(duration[:-1]) * {"m": 1, "h": 60, "d": 1440}[duration[-1]]


def _snooze(words: list[str]) -> Command:
    plain, _ = _flags(words, set(), "snooze")
    _arity(plain, "snooze", 2, 2)
    return Command("snooze", SnoozeArgs(_identifier(plain[0], "rule id", "snooze"), parse_duration(plain[1])))


def _unsnooze(words: list[str]) -> Command:
    plain, _ = _flags(words, set(), "unsnooze")
    _arity(plain, "unsnooze", 1, 2)
    rule_id = _identifier(plain[0], "rule id", "unsnooze")
    schedule_id = _identifier(plain[1], "snooze schedule id", "unsnooze") if len(plain) == 2 else None
    return Command("unsnooze", UnsnoozeArgs(rule_id, schedule_id))


def _case(words: list[str]) -> Command:
    title = " ".join(words).strip()
    if len(title) > 160:
        raise UsageError(f"A case title has at most 160 characters; yours has {len(title)}.", "case")
    return Command("case", CaseArgs(title))


def _apm(words: list[str]) -> Command:
    if not words:
        raise UsageError("Which APM command?", "apm config list")
    area, rest = words[0].lower(), words[1:]
    if area == "config":
        return _apm_config(rest)
    if area in {"key", "keys"}:
        return _apm_key(rest)
    if area in {"sourcemaps", "sourcemap"}:
        return _apm_sourcemaps(rest)
    raise UsageError(f"`apm` has no subcommand `{_short(area)}`.", "apm config list")


def _apm_config(words: list[str]) -> Command:
    if not words or words[0].lower() == "list":
        rest = words[1:] if words else []
        _arity(rest, "apm config list", 0, 1)
        return Command("apm config list", ServiceArgs(rest[0] if rest else None))
    if words[0].lower() != "set":
        raise UsageError(f"`apm config` has no subcommand `{_short(words[0])}`.", "apm config set")
    plain, flags = _flags(words[1:], {"--overwrite"}, "apm config set")
    first_pair = next((i for i, w in enumerate(plain) if "=" in w), len(plain))
    names, pairs = plain[:first_pair], plain[first_pair:]
    if not names:
        raise UsageError("Name the service before the settings.", "apm config set")
    if len(names) > 2:
        raise UsageError(f"`{_short(names[2])}` is not a key=value setting.", "apm config set")
    stray = [w for w in pairs if "=" not in w]
    if stray:
        raise UsageError(f"`{_short(stray[0])}` is not a key=value setting.", "apm config set")
    if not pairs:
        raise UsageError("Give at least one setting as key=value.", "apm config set")
    settings: dict[str, str] = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        if not key:
            raise UsageError(f"`{_short(pair)}` has no key before `=`.", "apm config set")
        if not value:
            raise UsageError(f"`{_short(key)}` has no value after `=`.", "apm config set")
        settings[key] = value
    environment = names[1] if len(names) > 1 else None
    return Command("apm config set", ConfigSetArgs(names[0], environment, settings, "--overwrite" in flags))


def _apm_key(words: list[str]) -> Command:
    if not words or words[0].lower() != "create":
        raise UsageError("Only `apm key create` exists.", "apm key create")
    plain, _ = _flags(words[1:], set(), "apm key create")
    _arity(plain, "apm key create", 2, 2)
    name = _identifier(plain[0], "key name", "apm key create")
    privileges = [p.strip() for p in plain[1].split(",") if p.strip()]
    unknown = [p for p in privileges if p not in AGENT_KEY_PRIVILEGES]
    if unknown or not privileges:
        raise UsageError(f"`{_short(plain[1])}` is not a list of agent key privileges.", "apm key create")
    return Command("apm key create", AgentKeyArgs(name, tuple(dict.fromkeys(privileges))))


def _apm_sourcemaps(words: list[str]) -> Command:
    if not words or words[0].lower() == "list":
        _arity(words[1:] if words else [], "apm sourcemaps list", 0, 0)
        return Command("apm sourcemaps list")
    sub, rest = words[0].lower(), words[1:]
    if sub == "upload":
        _arity(rest, "apm sourcemaps upload", 0, 0)
        return Command("apm sourcemaps upload")
    if sub == "delete":
        _arity(rest, "apm sourcemaps delete", 1, 1)
        return Command(
            "apm sourcemaps delete", SourceMapArgs(_identifier(rest[0], "source map id", "apm sourcemaps delete"))
        )
    raise UsageError(f"`apm sourcemaps` has no subcommand `{_short(sub)}`.", "apm sourcemaps list")


def _whoami(words: list[str]) -> Command:
    _arity(words, "whoami", 0, 0)
    return Command("whoami")


def _can_i(words: list[str]) -> Command:
    if not words:
        raise UsageError("Which action?", "can-i")
    action = " ".join(words).lower()
    if action not in USAGE:
        near = _nearest(words[0].lower())
        raise UsageError(f"`{_short(action)}` is not an action I know.", near or "can-i")
    return Command("can-i", CanIArgs(action))


def _audit(words: list[str]) -> Command:
    rule_id: str | None = None
    limit = 20
    rest = [w.lower() if w.lower() in {"rule", "last"} else w for w in words]
    while rest:
        keyword = rest.pop(0)
        if keyword == "rule" and rest:
            rule_id = _identifier(rest.pop(0), "rule id", "audit")
        elif keyword == "last" and rest and rest[0].isdigit():
            limit = int(rest.pop(0))
            if not 1 <= limit <= 100:
                raise UsageError("`last` takes 1 to 100.", "audit")
        else:
            raise UsageError(f"I don't understand `{_short(keyword)}` here.", "audit")
    return Command("audit", AuditArgs(rule_id, limit))


_PARSERS: dict[str, Callable[[list[str]], Command]] = {
    "help": _help,
    "health": _health,
    "alerts": _alerts,
    "rules": _rules,
    "rule": _one_rule("rule"),
    "mute": _alert("mute"),
    "unmute": _alert("unmute"),
    "mute-all": _one_rule("mute-all"),
    "unmute-all": _one_rule("unmute-all"),
    "disable": _one_rule("disable", {"--untrack"}),
    "enable": _one_rule("enable"),
    "snooze": _snooze,
    "unsnooze": _unsnooze,
    "case": _case,
    "apm": _apm,
    "whoami": _whoami,
    "can-i": _can_i,
    "audit": _audit,
}
