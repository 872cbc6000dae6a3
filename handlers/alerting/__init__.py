"""Alerting: the rule commands, the buttons of rules and alerts, the rule modals, mutes that end and the
Workflow Builder steps."""

from __future__ import annotations

from handlers.alerting import clicks, commands, maintenance_windows, modals, steps
from handlers.alerting.actions import ACTIONS
from handlers.alerting.maintenance_actions import ACTIONS as MAINTENANCE_ACTIONS
from handlers.alerting.mute_endings import MuteEndings
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "MAINTENANCE_ACTIONS", "register"]


def register(plumbing: Plumbing) -> Contribution:
    endings = MuteEndings(plumbing)
    return Contribution(
        commands={**commands.routes(plumbing), **maintenance_windows.routes()},
        actions=clicks.listeners(plumbing),
        views=modals.listeners(plumbing),
        steps=steps.listeners(plumbing),
        background=(endings.start,),
        closers=(endings.close,),
        parts=(endings,),
    )
