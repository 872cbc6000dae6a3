"""Slack listeners and the Block Kit they render, one module per feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

if TYPE_CHECKING:
    from bot.app import Runtime
    from bot.services import Services


def register(app: AsyncApp, services: Services, runtime: Runtime) -> None:
    """Wire every feature's listeners (and HTTP routes and background jobs) into the app."""
    from handlers import (
        access_commands,
        alerting,
        alerts,
        apm,
        cases,
        commands,
        rule_actions,
        rule_modals,
        slack_errors,
        subscriptions,
    )

    del access_commands, alerting  # imported for their @command routes
    commands.register(app, services)
    rule_actions.register(app, services)
    rule_modals.register(app, services)
    alerts.register(app, services, runtime)
    cases.register(app, services, runtime)
    subscriptions.register(app, services, runtime)
    apm.register(app, services, runtime)
    slack_errors.register(app, services)
