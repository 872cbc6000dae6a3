"""The alerts feature's actions: `alerts subscribe|unsubscribe|subscriptions`, their rows of the
catalog, their arguments and their parser. (The buttons on alert messages are alerting's.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.access import Role, Scope
from bot.alert_filters import AlertFilter, AlertFilterError, parse_alert_filter
from handlers.alerts import claim
from handlers.shared.catalog import Action, Actions
from handlers.shared.grammar import Command, UsageError, arity, flags, record_number, short

SUBSCRIBE = Action(
    "alerts subscribe",
    "alerts subscribe (--rule <id> | --tag <tag> | --all)   post this space's alerts here, read from "
    "Kibana's alerts-as-data (any licence, no rule changes)",
    Role.OPERATOR,
    "subscribe channels to alerts (`alerts subscribe`)",
)
UNSUBSCRIBE = Action(
    "alerts unsubscribe",
    "alerts unsubscribe <id>|all",
    Role.OPERATOR,
    "remove alert subscriptions (`alerts unsubscribe`)",
    scope=Scope.BOT,
)
SUBSCRIPTIONS = Action(
    "alerts subscriptions",
    "alerts subscriptions",
    Role.OPERATOR,
    "list alert subscriptions (`alerts subscriptions`)",
    read_only=True,
    scope=Scope.BOT,
)


@dataclass(frozen=True)
class AlertSubscribeArgs:
    filter: AlertFilter


@dataclass(frozen=True)
class UnsubscribeArgs:
    target: int | Literal["all"] = "all"


def _alerts(words: list[str]) -> Command:
    if not words:
        raise UsageError("Which `alerts` command?", SUBSCRIBE.name)
    sub, rest = words[0].lower(), words[1:]
    if sub == "subscribe":
        try:
            return Command(SUBSCRIBE.name, AlertSubscribeArgs(parse_alert_filter(rest)))
        except AlertFilterError as error:
            raise UsageError(error.message, SUBSCRIBE.name) from None
    if sub == "unsubscribe":
        flags(rest, set(), UNSUBSCRIBE.name)
        if not rest:
            raise UsageError(
                "Say which subscription to remove: its id (see `alerts subscriptions`) or `all`.", UNSUBSCRIBE.name
            )
        arity(rest, UNSUBSCRIBE.name, 1, 1)
        target = rest[0].lower()
        number: int | Literal["all"] = (
            "all" if target == "all" else record_number(target, "subscription id", UNSUBSCRIBE.name)
        )
        return Command(UNSUBSCRIBE.name, UnsubscribeArgs(number))
    if sub in {"subscriptions", "subs", "list"}:
        arity(rest, SUBSCRIPTIONS.name, 0, 0)
        return Command(SUBSCRIPTIONS.name)
    raise UsageError(f"`alerts` has no subcommand `{short(sub)}`.", SUBSCRIBE.name)


ACTIONS = Actions(
    rows=(SUBSCRIBE, UNSUBSCRIBE, SUBSCRIPTIONS, claim.CLAIM, claim.RELEASE),
    parsers={"alerts": _alerts, **claim.PARSERS},
)
