"""The action ids of the buttons the access matrix clicks, from the features that own them."""

from __future__ import annotations

from handlers.alerting.actions import (
    ALERT_MUTE,
    ALERT_UNMUTE,
    RULE_DISABLE,
    RULE_ENABLE,
    RULE_MUTE_ALL,
    RULE_SHOW,
    RULE_SNOOZE,
    RULE_UNMUTE_ALL,
    RULE_UNSNOOZE,
)
from handlers.cases.actions import CASE_ATTACH, CASE_OPEN

__all__ = [
    "ALERT_MUTE",
    "ALERT_UNMUTE",
    "CASE_ATTACH",
    "CASE_OPEN",
    "RULE_DISABLE",
    "RULE_ENABLE",
    "RULE_MUTE_ALL",
    "RULE_SHOW",
    "RULE_SNOOZE",
    "RULE_UNMUTE_ALL",
    "RULE_UNSNOOZE",
]
