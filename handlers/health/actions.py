"""The health feature's actions: `health` and `health subscribe|unsubscribe|subscriptions`, their
rows of the catalog, their arguments and their parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.access import Role, Scope
from handlers.shared.catalog import Action, Actions
from handlers.shared.grammar import Command, UsageError, arity, flags, record_number, short

HEALTH_STEP = "kibana_alerting_health"  # Workflow Builder step (manifest.json `functions`)
HEALTH = Action("health", "health", Role.VIEWER, "see alerting `health`", read_only=True, steps=(HEALTH_STEP,))
SUBSCRIBE = Action(
    "health subscribe",
    'health subscribe <schedule> [--on-change]   (cron "*/15 * * * *", "every 15m|2h|1d", "daily 09:00 Europe/Paris")',
    Role.OPERATOR,
    "subscribe channels to health reports (`health subscribe`)",
)
UNSUBSCRIBE = Action(
    "health unsubscribe",
    "health unsubscribe [<id>|all]",
    Role.OPERATOR,
    "remove health-report subscriptions (`health unsubscribe`)",
    scope=Scope.BOT,
)
SUBSCRIPTIONS = Action(
    "health subscriptions",
    "health subscriptions",
    Role.OPERATOR,
    "list health-report subscriptions (`health subscriptions`)",
    read_only=True,
    scope=Scope.BOT,
)


@dataclass(frozen=True)
class SubscribeArgs:
    schedule: str
    on_change: bool = False


@dataclass(frozen=True)
class UnsubscribeArgs:
    target: int | Literal["all"] = "all"


def _health(words: list[str]) -> Command:
    if not words:
        return Command(HEALTH.name)
    sub, rest = words[0].lower(), words[1:]
    if sub == "subscribe":
        plain, given = flags(rest, {"--on-change"}, SUBSCRIBE.name)
        if not plain:
            raise UsageError("Say when to post the report.", SUBSCRIBE.name)
        return Command(SUBSCRIBE.name, SubscribeArgs(" ".join(plain), "--on-change" in given))
    if sub == "unsubscribe":
        flags(rest, set(), UNSUBSCRIBE.name)
        arity(rest, UNSUBSCRIBE.name, 0, 1)
        target = rest[0].lower() if rest else "all"
        number: int | Literal["all"] = (
            "all" if target == "all" else record_number(target, "subscription id", UNSUBSCRIBE.name)
        )
        return Command(UNSUBSCRIBE.name, UnsubscribeArgs(number))
    if sub in {"subscriptions", "subs", "list"}:
        arity(rest, SUBSCRIPTIONS.name, 0, 0)
        return Command(SUBSCRIPTIONS.name)
    raise UsageError(f"`health` has no subcommand `{short(sub)}`.", HEALTH.name)


ACTIONS = Actions(rows=(HEALTH, SUBSCRIBE, UNSUBSCRIBE, SUBSCRIPTIONS), parsers={"health": _health})
