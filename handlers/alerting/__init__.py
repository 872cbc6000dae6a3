"""Alerting: the rule commands, the buttons of rules and alerts, the rule modals, and mutes that end."""

from __future__ import annotations

from handlers.alerting import clicks, commands, modals
from handlers.alerting.actions import ACTIONS
from handlers.alerting.mute_endings import MuteEndings
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "register"]


def register(plumbing: Plumbing) -> Contribution:
    endings = MuteEndings(plumbing)
    return Contribution(
        commands=commands.routes(plumbing),
        actions=clicks.listeners(plumbing),
        views=modals.listeners(plumbing),
        background=(endings.start,),
        closers=(endings.close,),
        parts=(endings,),
    )
