"""Alerting's actions: the rule commands (`rules`, `rule`, and the rule and alert writes), the
buttons and menus that perform them, their rows of the catalog, their arguments and parsers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Role
from handlers.alerting import mute_end
from handlers.alerting.explain import explain
from handlers.shared.catalog import Action, Actions
from handlers.shared.grammar import (
    Command,
    Parser,
    UsageError,
    arity,
    duration,
    duration_minutes,
    flags,
    identifier,
)

# Buttons and menus (block_actions action_id)
ALERT_MUTE = "alert_mute"
ALERT_UNMUTE = "alert_unmute"
ALERT_MUTE_FOR = "alert_mute_for"  # the Mute for… menu: 1 h, 4 h, until 09:00 tomorrow (until it gets worse)
# The buttons of a reminder before a mute or a snooze ends (handlers/alerting/reminders.py)
MUTE_EXTEND = "mute_extend"
MUTE_LET_END = "mute_let_end"
MUTE_END_NOW = "mute_end_now"
SNOOZE_EXTEND = "snooze_extend"
SNOOZE_LET_END = "snooze_let_end"
SNOOZE_END_NOW = "snooze_end_now"
RULE_MUTE_ALL = "rule_mute_all"
RULE_UNMUTE_ALL = "rule_unmute_all"
RULE_DISABLE = "rule_disable"
RULE_ENABLE = "rule_enable"
RULE_SNOOZE = "rule_snooze"
RULE_UNSNOOZE = "rule_unsnooze"
RULE_SHOW = "rule_show"
RULE_LINK = "rule_link"  # performs no action: a link the client opens

# Modals (view callback_id)
DISABLE_MODAL = "rule_disable_modal"
SNOOZE_MODAL = "rule_snooze_modal"

# Workflow Builder steps (manifest.json `functions`, callback_id)
SNOOZE_STEP = "kibana_snooze_rule"
MUTE_STEP = "kibana_mute_alert"

V, R, OP = Role.VIEWER, Role.RESPONDER, Role.OPERATOR

RULES = Action("rules", "rules [<words>]", V, "find `rules`", read_only=True)
RULE = Action("rule", "rule <rule_id>", V, "show a `rule`", read_only=True, action_ids=(RULE_SHOW,))
# A reminder's Extend 1 h and Let it end act on the mute (or snooze) they remind of; Unmute now undoes it.
MUTE = Action(
    "mute",
    "mute <rule_id> <alert_id> [for <duration> | until <time>]",
    R,
    "`mute` alerts",
    action_ids=(ALERT_MUTE, ALERT_MUTE_FOR, MUTE_EXTEND, MUTE_LET_END),
    steps=(MUTE_STEP,),
)
UNMUTE = Action("unmute", "unmute <rule_id> <alert_id>", R, "`unmute` alerts", action_ids=(ALERT_UNMUTE, MUTE_END_NOW))
MUTE_ALL = Action(
    "mute-all",
    "mute-all <rule_id> [for <duration> | until <time>]",
    OP,
    "mute all alerts of a rule (`mute-all`)",
    action_ids=(RULE_MUTE_ALL,),
)
UNMUTE_ALL = Action(
    "unmute-all",
    "unmute-all <rule_id>",
    OP,
    "unmute all alerts of a rule (`unmute-all`)",
    action_ids=(RULE_UNMUTE_ALL,),
)
DISABLE = Action(
    "disable",
    "disable <rule_id> [--untrack]",
    OP,
    "`disable` rules",
    action_ids=(RULE_DISABLE,),
    views=(DISABLE_MODAL,),
)
ENABLE = Action("enable", "enable <rule_id>", OP, "`enable` rules", action_ids=(RULE_ENABLE,))
SNOOZE = Action(
    "snooze",
    "snooze <rule_id> <duration>   (30m, 4h, 1d, 2w)",
    R,
    "`snooze` rules",
    action_ids=(RULE_SNOOZE, SNOOZE_EXTEND, SNOOZE_LET_END),
    views=(SNOOZE_MODAL,),
    steps=(SNOOZE_STEP,),
)
UNSNOOZE = Action(
    "unsnooze",
    "unsnooze <rule_id> [<schedule_id>]",
    R,
    "`unsnooze` rules",
    action_ids=(RULE_UNSNOOZE, SNOOZE_END_NOW),
)
del V, R, OP

# Snoozes longer than the menu's longest choice (1 day) are in effect a `disable`, so they need
# the role of one. Not a command of its own: the rule writes check it for every snooze, however
# it was asked for (the command, the menu, the custom form).
LONGEST_SHORT_SNOOZE_MINUTES = 24 * 60
SNOOZE_LONG = Action(
    "snooze-long",
    "snooze <rule_id> <duration>   (longer than 1d)",
    Role.OPERATOR,
    "`snooze` rules for longer than 1 day",
)
LONGEST_SNOOZE_MINUTES = 365 * 24 * 60


# ---- what each command carries --------------------------------------------------------------


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
    end: str | None = None  # mute only: when it ends (handlers/alerting/mute_end.py), None: when unmuted


@dataclass(frozen=True)
class MuteAllArgs:
    rule_id: str
    end: str | None = None


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


# ---- one parser per command ---------------------------------------------------------------


def snooze_duration(value: str) -> str:
    """A snooze's length as typed (`30m`, `4h`, `1d`, `2w`) → Kibana's `<int><m|h|d>`; raises UsageError."""
    checked = duration(value, SNOOZE.name)
    if not 1 <= duration_minutes(checked) <= LONGEST_SNOOZE_MINUTES:
        raise UsageError("A snooze lasts between 1 minute and 365 days.", SNOOZE.name)
    return checked


def _rules(words: list[str]) -> Command:
    plain, _ = flags(words, set(), RULES.name)
    return Command(RULES.name, SearchArgs(" ".join(plain)))


def _one_rule(action: Action) -> Parser:
    def parse_it(words: list[str]) -> Command:
        plain, _ = flags(words, set(), action.name)
        arity(plain, action.name, 1, 1)
        return Command(action.name, RuleArgs(identifier(plain[0], "rule id", action.name)))

    return parse_it


def _disable(words: list[str]) -> Command:
    plain, given = flags(words, {"--untrack"}, DISABLE.name)
    arity(plain, DISABLE.name, 1, 1)
    return Command(DISABLE.name, DisableArgs(identifier(plain[0], "rule id", DISABLE.name), "--untrack" in given))


def _alert(action: Action, *, timed: bool = False) -> Parser:
    def parse_it(words: list[str]) -> Command:
        plain, _ = flags(words, set(), action.name)
        arity(plain, action.name, 2, 5 if timed else 2)
        rule_id = identifier(plain[0], "rule id", action.name)
        if not plain[1] or len(plain[1]) > 512:
            raise UsageError("The alert id must be 1 to 512 characters.", action.name)
        end = mute_end.parse_words(plain[2:], action.name) if timed else None
        return Command(action.name, AlertArgs(rule_id, plain[1], end))

    return parse_it


def _mute_all(words: list[str]) -> Command:
    plain, _ = flags(words, set(), MUTE_ALL.name)
    arity(plain, MUTE_ALL.name, 1, 4)
    rule_id = identifier(plain[0], "rule id", MUTE_ALL.name)
    return Command(MUTE_ALL.name, MuteAllArgs(rule_id, mute_end.parse_words(plain[1:], MUTE_ALL.name)))


def _snooze(words: list[str]) -> Command:
    plain, _ = flags(words, set(), SNOOZE.name)
    arity(plain, SNOOZE.name, 2, 2)
    return Command(SNOOZE.name, SnoozeArgs(identifier(plain[0], "rule id", SNOOZE.name), snooze_duration(plain[1])))


def _unsnooze(words: list[str]) -> Command:
    plain, _ = flags(words, set(), UNSNOOZE.name)
    arity(plain, UNSNOOZE.name, 1, 2)
    rule_id = identifier(plain[0], "rule id", UNSNOOZE.name)
    schedule_id = identifier(plain[1], "snooze schedule id", UNSNOOZE.name) if len(plain) == 2 else None
    return Command(UNSNOOZE.name, UnsnoozeArgs(rule_id, schedule_id))


ACTIONS = Actions(
    rows=(RULES, RULE, MUTE, UNMUTE, MUTE_ALL, UNMUTE_ALL, DISABLE, ENABLE, SNOOZE, UNSNOOZE),
    parsers={
        RULES.name: _rules,
        RULE.name: _one_rule(RULE),
        MUTE.name: _alert(MUTE, timed=True),
        UNMUTE.name: _alert(UNMUTE),
        MUTE_ALL.name: _mute_all,
        UNMUTE_ALL.name: _one_rule(UNMUTE_ALL),
        DISABLE.name: _disable,
        ENABLE.name: _one_rule(ENABLE),
        SNOOZE.name: _snooze,
        UNSNOOZE.name: _unsnooze,
    },
    explain=explain,
)
