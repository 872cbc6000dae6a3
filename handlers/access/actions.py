"""The access feature's actions: `whoami`, `can-i <action>` and `audit`, their rows of the catalog,
their arguments and their parsers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.access import Role, Scope
from handlers.shared.catalog import Action, Actions
from handlers.shared.grammar import ActionArgs, Command, UsageError, arity, identifier, short

WHOAMI = Action("whoami", "whoami", Role.VIEWER, "use `whoami`", read_only=True, scope=Scope.BOT)
CAN_I = Action("can-i", "can-i <action>", Role.VIEWER, "use `can-i`", read_only=True, scope=Scope.BOT)
AUDIT = Action(
    "audit", "audit [rule <rule_id>] [last <n>]", Role.OPERATOR, "read the `audit` log", read_only=True, scope=Scope.BOT
)


@dataclass(frozen=True)
class AuditArgs:
    rule_id: str | None = None
    limit: int = 20


def _whoami(words: list[str]) -> Command:
    arity(words, WHOAMI.name, 0, 0)
    return Command(WHOAMI.name)


def _can_i(words: list[str]) -> Command:
    if not words:
        raise UsageError("Which action?", CAN_I.name)
    return Command(CAN_I.name, ActionArgs(" ".join(words).lower()))  # the grammar checks it names an action


def _audit(words: list[str]) -> Command:
    rule_id: str | None = None
    limit = 20
    rest = [w.lower() if w.lower() in {"rule", "last"} else w for w in words]
    while rest:
        keyword = rest.pop(0)
        if keyword == "rule" and rest:
            rule_id = identifier(rest.pop(0), "rule id", AUDIT.name)
        elif keyword == "last" and rest:
            limit = _how_many(rest.pop(0))
        else:
            raise UsageError(f"I don't understand `{short(keyword)}` here.", AUDIT.name)
    return Command(AUDIT.name, AuditArgs(rule_id, limit))


def _how_many(value: str) -> int:
    """`last`'s number: ASCII digits (str.isdigit also says yes to `²`, which int() refuses), 1 to 100."""
    if not re.fullmatch(r"[0-9]{1,3}", value, flags=re.ASCII) or not 1 <= int(value) <= 100:
        raise UsageError(f"`last` takes a number from 1 to 100, not `{short(value)}`.", AUDIT.name)
    return int(value)


ACTIONS = Actions(
    rows=(WHOAMI, CAN_I, AUDIT),
    parsers={WHOAMI.name: _whoami, CAN_I.name: _can_i, AUDIT.name: _audit},
)
