"""The `/kibana` command grammar: `parse`, and the words every command is made of.

`parse(text, catalog)` takes `--space` out of the text, finds the parser of the first word among
those the features contributed to the catalog, and returns the `Command` it makes, or raises
`UsageError` carrying the usage of the nearest command. The features' parsers (each feature's
`actions.py`) are built from the helpers here: flags, arity, identifiers, durations. Nothing here
talks to Slack or Kibana, and no input makes `parse` raise anything else (tested with hypothesis).
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from bot.identifiers import RULE_ID, RULE_ID_LIMIT, SPACE_ID, control_character

if TYPE_CHECKING:
    from handlers.shared.catalog import Catalog

MAX_TEXT = 2000  # characters; Slack allows more, nobody types more
RECORD_NUMBER_DIGITS = 18  # the bot's own record numbers (subscription ids): within the database's integers

_ID = RULE_ID
_SPACE = SPACE_ID
_DURATION = re.compile(r"^(\d{1,4})([mhdw])$")
_MINUTES = {"m": 1, "h": 60, "d": 1440}
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


class UsageError(ValueError):
    """Bad input; `command` is the nearest command (None for `help`), `usage` its usage line (`parse`
    fills it in from the catalog)."""

    def __init__(self, message: str, command: str | None = None, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = command
        self.usage = usage


# ---- what a command carries ---------------------------------------------------------------


@dataclass(frozen=True)
class NoArgs:
    pass


@dataclass(frozen=True)
class HelpArgs:
    topic: str = ""


@dataclass(frozen=True)
class ActionArgs:
    """The arguments of a command that names an action (`can-i <action>`): `parse` checks the name
    against the catalog, so that an unknown one gets the usage of the nearest command."""

    action: str


A = TypeVar("A")


@dataclass(frozen=True)
class Command:
    action: str  # a name of the action catalog
    args: object = field(default_factory=NoArgs)  # the feature's own arguments type
    space: str | None = None

    def args_as(self, kind: type[A]) -> A:
        """The arguments, as the kind the route expects (TypeError when the grammar gave another)."""
        if not isinstance(self.args, kind):
            raise TypeError(f"`{self.action}` carries {type(self.args).__name__}, not {kind.__name__}")
        return self.args

    @property
    def rule_id(self) -> str | None:
        value = getattr(self.args, "rule_id", None)
        return value if isinstance(value, str) else None

    @property
    def alert_id(self) -> str | None:
        value = getattr(self.args, "alert_id", None)
        return value if isinstance(value, str) else None


# The words after the first (the feature's command word) → the command; raises UsageError.
Parser = Callable[[list[str]], Command]


def parse(text: str, catalog: Catalog) -> Command:
    """Parse the text after the slash command, with the parsers the catalog was built from."""
    try:
        return _parse(text, catalog)
    except UsageError as error:
        if error.usage is None and error.command is not None:
            error.usage = catalog.usage.get(error.command)
        raise


def _parse(text: str, catalog: Catalog) -> Command:
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    at = control_character(text)
    if at is not None:
        before = f" after `{short(text[:at][-30:], 30)}`" if text[:at].strip() else ""
        raise UsageError(
            f"The command has a control character (U+{ord(text[at]):04X}){before}; no Kibana id or name has one. "
            "Type it again without it."
        )
    try:
        words = shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise UsageError("A quote is not closed.") from None
    words, space = _take_space(words)
    if not words:
        return Command("help", HelpArgs(), space=space)
    head, rest = words[0].lower(), words[1:]
    parser = catalog.parsers.get(head)
    if parser is None:
        near = nearest(head, catalog)
        hint = f" Did you mean `{near}`?" if near else ""
        raise UsageError(f"I don't know the command `{short(head)}`.{hint}", near)
    command = parser(rest)
    if isinstance(command.args, ActionArgs) and command.args.action not in catalog.by_name:
        near = nearest(command.args.action.split(" ")[0], catalog)
        raise UsageError(f"`{short(command.args.action)}` is not an action I know.", near or command.action)
    return Command(command.action, command.args, space)


def help_command(words: list[str]) -> Command:
    """`help [<topic>]`: the built-in command."""
    return Command("help", HelpArgs(" ".join(words).lower()))


def link_command(words: list[str], name: str) -> Command:
    """`connect` / `disconnect`: the built-in commands that link or unlink a person's own Kibana key."""
    arity(words, name, 0, 0)
    return Command(name)


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
                raise UsageError(f"`{short(value)}` is not a Kibana space id (lower-case letters, digits, _ and -).")
            if space is not None and space != value:
                raise UsageError("`--space` is given twice with different values.")
            space = value
        else:
            out.append(word)
        i += 1
    return out, space


def nearest(word: str, catalog: Catalog) -> str | None:
    """The first action whose command word is closest to `word` (a typo), if any is close."""
    heads = sorted({name.split(" ")[0] for name in catalog.usage})
    match = difflib.get_close_matches(word, heads, n=1, cutoff=0.6)
    if not match:
        return None
    return next(name for name in catalog.usage if name.split(" ")[0] == match[0])


# ---- the words commands are made of ---------------------------------------------------------


def short(value: str, limit: int = 40) -> str:
    """A word the user typed, quoted back safely (no backticks, at most `limit` characters)."""
    value = value.replace("`", "'")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def flags(words: list[str], allowed: set[str], command: str) -> tuple[list[str], set[str]]:
    """The plain words and the `--flags` among `words`; a flag `command` does not have is a UsageError."""
    plain = [w for w in words if not w.startswith("--")]
    given = {w for w in words if w.startswith("--")}
    unknown = given - allowed
    if unknown:
        flag = sorted(unknown)[0]
        raise UsageError(f"`{command}` has no option `{short(flag)}`.", command)
    return plain, given


def arity(words: list[str], command: str, minimum: int, maximum: int) -> None:
    if len(words) < minimum:
        raise UsageError("Something is missing.", command)
    if len(words) > maximum:
        raise UsageError(f"Too many words: `{short(' '.join(words[maximum:]))}`.", command)


def is_identifier(value: str) -> bool:
    """A rule id, schedule id or key name as the command accepts it."""
    return bool(_ID.fullmatch(value))


def is_space_id(value: str) -> bool:
    return bool(_SPACE.fullmatch(value))


def identifier(value: str, what: str, command: str) -> str:
    """`value` when it is an identifier (see `is_identifier`); else a UsageError naming `what` it should be."""
    if len(value) > RULE_ID_LIMIT:
        raise UsageError(f"A {what} has at most {RULE_ID_LIMIT} characters; this one has {len(value)}.", command)
    if not _ID.fullmatch(value):
        raise UsageError(f"`{short(value)}` is not a valid {what}.", command)
    return value


def bounded(value: str, what: str, limit: int, command: str) -> str:
    """`value` when it has at most `limit` characters; else a UsageError saying so."""
    if len(value) > limit:
        raise UsageError(f"A {what} has at most {limit} characters; this one has {len(value)}.", command)
    return value


def record_number(value: str, what: str, command: str) -> int:
    """One of the bot's own record numbers (`#12` or `12`); else a UsageError naming `what` it should be."""
    digits = value.lstrip("#")
    if not re.fullmatch(rf"[0-9]{{1,{RECORD_NUMBER_DIGITS}}}", digits, flags=re.ASCII):
        limit = RECORD_NUMBER_DIGITS
        raise UsageError(f"`{short(value)}` is not a {what}: those are numbers of at most {limit} digits.", command)
    return int(digits)


def duration(value: str, command: str | None = None) -> str:
    """`30m`, `4h`, `1d`, `2w` → Kibana's `<int><m|h|d>` (weeks as days); a UsageError naming `command`."""
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        raise UsageError(f"`{short(value)}` is not a duration; use 30m, 4h, 1d or 2w.", command)
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "w":
        amount, unit = amount * 7, "d"
    return f"{amount}{unit}"


def duration_minutes(kibana_duration: str) -> int:
    """The length of a duration `duration` returned (`<int><m|h|d>`), in minutes."""
    return int(kibana_duration[:-1]) * _MINUTES[kibana_duration[-1]]
