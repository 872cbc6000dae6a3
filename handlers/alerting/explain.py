"""Alerting's words for the Kibana errors of acting on rules: a rule or an alert that is not there, a
Kibana without the snooze API, and how to check a rule after Kibana did not answer. `actions.py`
contributes it to the catalog, which asks it before the generic sentences (`handlers.shared.errors`)."""

from __future__ import annotations

import re

from bot.kibana.errors import KibanaError, KibanaNotFound, KibanaRouteNotFound, KibanaUnavailable
from handlers.shared.blocks import code, escape
from handlers.shared.errors import Doing, unavailable, where

_ALERT_MISSING = re.compile(r'Alert instance with id "(?P<alert>[^"]*)" does not exist for rule with id')
RULE_ROUTES = "/api/alerting/"  # a 404 of these, for a rule id, is a rule not found


def explain(error: KibanaError, doing: Doing) -> str | None:
    cmd, rule = doing.command, doing.rule_id
    path = error.path or ""
    if isinstance(error, KibanaRouteNotFound) and "/snooze_schedule" in path:
        return (
            f"{_this_kibana(doing)} has no snooze API (Kibana has it from 8.19 on 8.x and from 9.1 on 9.x), "
            f"so nothing was snoozed. Instead, mute all its alerts (`{cmd} mute-all {rule}`) or "
            f"disable the rule (`{cmd} disable {rule}`)."
        )
    if isinstance(error, KibanaNotFound):
        missing = _ALERT_MISSING.search(error.message)
        if missing:
            rule = rule or ""
            return (
                f"Kibana has no alert {code(missing.group('alert'))} of rule {code(rule)} {where(doing)}, so it "
                "was not muted (from 9.3 Kibana mutes only alerts it has a record of; summary actions and some "
                f"rule types have none). Mute all alerts of the rule ({code(f'{cmd} mute-all {rule}')}) "
                f"or snooze it ({code(f'{cmd} snooze {rule} 4h')}) instead."
            )
        if rule and RULE_ROUTES in path:
            return (
                f"Rule {code(rule)} was not found {where(doing)}. Check the id with "
                f"`{cmd} rules`, or name its space with `--space`."
            )
    if isinstance(error, KibanaUnavailable) and rule:
        return unavailable(error, doing, check=f"Check with `{cmd} rule {escape(rule)}`")
    return None


def _this_kibana(doing: Doing) -> str:
    return f"This Kibana ({doing.kibana_version})" if doing.kibana_version else "This Kibana's version"
