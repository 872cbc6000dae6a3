"""Alerting: the rule commands, the buttons of rules and alerts, the rule modals and the Workflow Builder steps."""

from __future__ import annotations

from handlers.alerting import clicks, commands, maintenance_windows, modals, steps
from handlers.alerting.actions import ACTIONS
from handlers.alerting.maintenance_actions import ACTIONS as MAINTENANCE_ACTIONS
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "MAINTENANCE_ACTIONS", "register"]


def register(plumbing: Plumbing) -> Contribution:
    return Contribution(
        commands={**commands.routes(plumbing), **maintenance_windows.routes()},
        actions=clicks.listeners(plumbing),
        views=modals.listeners(plumbing),
        steps=steps.listeners(plumbing),
    )
